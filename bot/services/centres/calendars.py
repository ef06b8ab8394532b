"""The working calendar of one job centre (public holidays plus its closed days)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar
from bot.models import ClosedDay


def calendar_for(db: Session, job_centre_id: int) -> WorkCalendar:
    days = db.scalars(select(ClosedDay.day).where(ClosedDay.job_centre_id == job_centre_id))
    return WorkCalendar(closed_days=list(days))
