"""Days a job centre is closed beyond weekends and public holidays.

A closed day is no attendance day and no working day, so adding or removing one plans
the centre's reminders again (check-ins, and offsets counted in working days).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import DomainError
from bot.i18n import N_
from bot.models import ClosedDay, JobCentre, Person
from bot.services.centres import versions
from bot.services.reminders import planner as reminders
from bot.services.system import audit

REPLAN_REASON = "calendar_changed"


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(N_("Write the date as YYYY-MM-DD, e.g. 2026-12-28.")) from None


def add(db: Session, now: datetime, centre: JobCentre, day: date, note: str = "", *,
        actor: Person | None) -> ClosedDay:
    if len(note) > 200:
        raise DomainError(N_("That is too long (at most {limit} characters)."), limit=200)
    exists = db.scalar(select(ClosedDay).where(ClosedDay.job_centre_id == centre.id,
                                               ClosedDay.day == day))
    if exists is not None:
        raise DomainError(N_("{date} is already a closed day."), date=day)
    closed = ClosedDay(job_centre_id=centre.id, day=day, note=note.strip())
    db.add(closed)
    db.flush()
    versions.centre_changed(db, centre.id)
    audit.record(db, now, "closed_day.add", actor=actor, subject=closed, day=day.isoformat())
    reminders.refresh_centre(db, now, centre.id, reason=REPLAN_REASON)
    return closed


def remove(db: Session, now: datetime, closed: ClosedDay, *, actor: Person | None) -> None:
    audit.record(db, now, "closed_day.remove", actor=actor, subject=closed,
                 day=closed.day.isoformat())
    centre_id = closed.job_centre_id
    db.delete(closed)
    db.flush()
    versions.centre_changed(db, closed.job_centre_id)
    reminders.refresh_centre(db, now, centre_id, reason=REPLAN_REASON)


def upcoming(db: Session, centre_id: int, today: date) -> list[ClosedDay]:
    return list(db.scalars(select(ClosedDay).where(
        ClosedDay.job_centre_id == centre_id, ClosedDay.day >= today).order_by(ClosedDay.day)))


def get(db: Session, closed_day_id: int) -> ClosedDay | None:
    return db.get(ClosedDay, closed_day_id)
