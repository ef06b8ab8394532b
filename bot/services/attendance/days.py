"""Which days a job centre requires attendance, and its check-in window by default.

Pure rules over a policy's values, with no database access: the attendance services
and the reminder planner both read them. Changing the policy (which re-plans check-in
reminders) is in ``policy.py``; keeping these apart lets the planner use them without
an import cycle.
"""

from __future__ import annotations

from datetime import date, time
from typing import Protocol

from bot.calendar import WorkCalendar

# A new job centre's policy: Monday to Friday, the window opening at 08:30.
DEFAULT_WEEKDAYS = "12345"
DEFAULT_WINDOW_START = time(8, 30)
DEFAULT_WINDOW_END = time(10, 0)


class HasWeekdays(Protocol):
    weekdays: str


def weekdays_of(policy: HasWeekdays) -> set[int]:
    return {int(c) for c in policy.weekdays if c.isdigit()}


def is_attendance_day(policy: HasWeekdays, calendar: WorkCalendar, day: date) -> bool:
    return day.isoweekday() in weekdays_of(policy) and calendar.is_working_day(day)
