"""The job centre's calendar: working days, Swedish public holidays, closed days.

Deadlines such as "first plan within five working days" and the days with an
attendance requirement are counted here, in local dates of the job centre.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays


@cache
def _swedish_holidays(year: int) -> holidays.HolidayBase:
    # Sundays are not listed as holidays here; weekends are handled separately.
    return holidays.country_holidays("SE", years=year, include_sundays=False)


def is_public_holiday(day: date) -> bool:
    return day in _swedish_holidays(day.year)


def holiday_name(day: date) -> str | None:
    return _swedish_holidays(day.year).get(day)


class WorkCalendar:
    """Working days: Monday to Friday, minus Swedish public holidays and extra closed days.

    Midsummer Eve, Christmas Eve and New Year's Eve are not public holidays in law
    but are days off in Swedish working life ("de facto" holidays), and so here.
    """

    def __init__(self, closed_days: Iterable[date] = ()) -> None:
        self.closed_days = frozenset(closed_days)

    def is_working_day(self, day: date) -> bool:
        if day.weekday() >= 5 or day in self.closed_days or is_public_holiday(day):
            return False
        return not _is_eve(day)

    def add_working_days(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (before it, if negative)."""
        step = 1 if days >= 0 else -1
        remaining = abs(days)
        day = start
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def next_working_day(self, day: date, *, include: bool = False) -> date:
        if include and self.is_working_day(day):
            return day
        return self.add_working_days(day, 1)

    def working_days(self, first: date, last: date) -> Iterator[date]:
        day = first
        while day <= last:
            if self.is_working_day(day):
                yield day
            day += timedelta(days=1)

    def count_working_days(self, first: date, last: date) -> int:
        """Working days after ``first`` up to and including ``last``."""
        return sum(1 for _ in self.working_days(first + timedelta(days=1), last))


def _is_eve(day: date) -> bool:
    """Christmas Eve, New Year's Eve, or Midsummer Eve (the Friday from 19 to 25 June)."""
    if (day.month, day.day) in ((12, 24), (12, 31)):
        return True
    return day.month == 6 and 19 <= day.day <= 25 and day.weekday() == 4


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def at_local(day: date, clock_time: time, zone: ZoneInfo) -> datetime:
    """A local wall-clock time on ``day`` as an aware datetime (DST-correct)."""
    return datetime.combine(day, clock_time, tzinfo=zone)
