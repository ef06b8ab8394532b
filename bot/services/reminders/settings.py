"""A job centre's quiet hours and deadline counting, and moving a time out of quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import DomainError
from bot.i18n import N_
from bot.models import JobCentre, Person, ReminderSettings
from bot.services.system import audit

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


def for_centre(db: Session, job_centre_id: int) -> CentreReminderSettings:
    row = db.scalar(select(ReminderSettings).where(ReminderSettings.job_centre_id == job_centre_id))
    if row is None:
        return DEFAULTS
    return CentreReminderSettings(QuietHours(row.quiet_start, row.quiet_end, row.quiet_weekends),
                                  row.deadline_calendar_days)


def parse_clock(text: str) -> time:
    """``"20:00"`` or ``"8.00"`` as a time; a clear refusal otherwise."""
    cleaned = text.strip().replace(".", ":")
    try:
        hours, minutes = cleaned.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise DomainError(N_("Not a time of day: {text}. Write it like 20:00."),
                          text=text) from None


def update(
    db: Session,
    now: datetime,
    centre: JobCentre,
    *,
    quiet_start: time | None = None,
    quiet_end: time | None = None,
    quiet_weekends: bool | None = None,
    deadline_calendar_days: bool | None = None,
    actor: Person | None = None,
) -> ReminderSettings:
    """Change a centre's settings and re-plan its reminders with them."""
    from bot.services.reminders import planner as reminders

    row = db.scalar(select(ReminderSettings).where(ReminderSettings.job_centre_id == centre.id))
    if row is None:
        row = ReminderSettings(job_centre_id=centre.id, quiet_start=DEFAULT_QUIET_START,
                               quiet_end=DEFAULT_QUIET_END, quiet_weekends=False,
                               deadline_calendar_days=False)
        db.add(row)
    for name, value in (("quiet_start", quiet_start), ("quiet_end", quiet_end)):
        if value is not None:
            if value.second or value.microsecond:
                raise DomainError(N_("Quiet hours are set in whole minutes."))
            setattr(row, name, value)
    if quiet_weekends is not None:
        row.quiet_weekends = quiet_weekends
    if deadline_calendar_days is not None:
        row.deadline_calendar_days = deadline_calendar_days
    row.updated_at = now
    db.flush()
    audit.record(db, now, "reminder_settings.update", actor=actor, subject=row,
                 quiet_start=row.quiet_start.isoformat(), quiet_end=row.quiet_end.isoformat(),
                 quiet_weekends=row.quiet_weekends,
                 deadline_calendar_days=row.deadline_calendar_days)
    reminders.refresh_centre(db, now, centre.id, reason="settings_changed")
    return row
