"""A job centre's quiet hours and deadline counting, and moving a time out of quiet hours.

The read side of the reminder settings: the planner reads it for every centre in a pass;
changing the settings (which re-plans reminders) is in ``settings.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import ReminderSettings

DEFAULT_QUIET_START = time(20, 0)
DEFAULT_QUIET_END = time(8, 0)


@dataclass(frozen=True)
class QuietHours:
    """Local wall-clock hours (and optionally weekends) when no reminder is sent."""

    start: time = DEFAULT_QUIET_START
    end: time = DEFAULT_QUIET_END
    weekends: bool = False

    def is_quiet(self, local: datetime) -> bool:
        if self.weekends and local.weekday() >= 5:
            return True
        clock = local.time().replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end  # overnight, e.g. 20:00–08:00

    def next_allowed(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """``moment`` if it is outside quiet hours, else the first moment after them (UTC).

        Computed on local dates and wall-clock times, so the end of the night is 08:00
        local time on both sides of a daylight-saving change.
        """
        local = moment.astimezone(zone)
        for _ in range(8):  # at most a weekend plus a night
            if not self.is_quiet(local):
                return local.astimezone(UTC)
            day = local.date()
            if self.weekends and local.weekday() >= 5:
                day = day + timedelta(days=7 - local.weekday())
                local = _at(day, self.end if self.start > self.end else time(0), zone)
                continue
            clock = local.time().replace(tzinfo=None)
            if self.start > self.end and clock >= self.start:
                day = day + timedelta(days=1)
            local = _at(day, self.end, zone)
        return local.astimezone(UTC)


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    # Normalise through UTC so a wall-clock time inside a DST gap becomes a real instant.
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC).astimezone(zone)


@dataclass(frozen=True)
class CentreReminderSettings:
    quiet: QuietHours
    deadline_calendar_days: bool = False


DEFAULTS = CentreReminderSettings(QuietHours())


def of_row(row: ReminderSettings | None) -> CentreReminderSettings:
    if row is None:
        return DEFAULTS
    return CentreReminderSettings(QuietHours(row.quiet_start, row.quiet_end, row.quiet_weekends),
                                  row.deadline_calendar_days)


def for_centre(db: Session, job_centre_id: int) -> CentreReminderSettings:
    return of_row(db.scalar(select(ReminderSettings)
                            .where(ReminderSettings.job_centre_id == job_centre_id)))
