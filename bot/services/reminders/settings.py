"""Changing a job centre's quiet hours and deadline counting (then its reminders are
planned again). Reading them, and moving a time out of quiet hours: ``quiet_hours.py``."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import DomainError
from bot.i18n import N_
from bot.models import JobCentre, Person, ReminderSettings
from bot.services.reminders import planner as reminders
from bot.services.reminders.quiet_hours import (  # re-exported: callers read settings here
    DEFAULT_QUIET_END,
    DEFAULT_QUIET_START,
    DEFAULTS,
    CentreReminderSettings,
    QuietHours,
    for_centre,
)
from bot.services.system import audit

__all__ = ["DEFAULTS", "DEFAULT_QUIET_END", "DEFAULT_QUIET_START", "CentreReminderSettings",
           "QuietHours", "for_centre", "parse_clock", "update"]

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
