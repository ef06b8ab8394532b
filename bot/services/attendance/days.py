"""Which days a job centre requires attendance, and its check-in window by default.

Pure rules over a policy's values, with no database access: the attendance services
and the reminder planner both read them. Changing the policy (which re-plans check-in
reminders) is in ``policy.py``; keeping these apart lets the planner use them without
an import cycle.
"""

from __future__ import annotations

from datetime import date, time, timedelta
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


class HasRequirement(Protocol):
    """An enrolment as stored (Enrolment) or as read with the person (ActiveEnrolment)."""

    attendance_required: bool
    intake_on: date | None


def attendance_starts_on(enrolment: HasRequirement) -> date | None:
    """The first day of the daily requirement: the day after the intake (the information
    session attended, or the plan started in a three-party meeting); None before it."""
    if not enrolment.attendance_required or enrolment.intake_on is None:
        return None
    return enrolment.intake_on + timedelta(days=1)


def required_on(enrolment: HasRequirement, day: date) -> bool:
    """Whether the aspirant must check in on ``day`` (if it is an attendance day): never
    before the intake, so nobody is absent before it."""
    starts = attendance_starts_on(enrolment)
    return starts is not None and day >= starts
