"""Shared by the sandbox tests: a start time that makes the seeded week predictable."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.calendar import WorkCalendar
from bot.sandbox.seed import SANDBOX

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def working_morning(at: time = time(8, 0)) -> datetime:
    """08:00 on the first day from tomorrow on that is a working day followed by another
    (the sandbox centre's closed days count), so the first seeded information session is
    the next morning at 10:00."""
    calendar = WorkCalendar(closed_days=[day.value.date for day in SANDBOX.centre.closed_days])
    day = datetime.now(UTC).astimezone(STOCKHOLM).date() + timedelta(days=1)
    while not (calendar.is_working_day(day) and calendar.is_working_day(day + timedelta(days=1))):
        day += timedelta(days=1)
    return datetime.combine(day, at, STOCKHOLM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
