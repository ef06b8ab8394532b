"""The day's scheduled attendance work at a centre, each step done once (digests,
absence detection, coach alerts, the weekly statement), whichever instance asks first."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import AttendanceDay
from bot.services.attendance import policy as attendance_policy


def day_row(db: Session, centre_id: int, day: date, *, lock: bool = False
             ) -> AttendanceDay | None:
    query = select(AttendanceDay).where(AttendanceDay.job_centre_id == centre_id,
                                        AttendanceDay.day == day)
    if lock:
        query = query.with_for_update()
    return db.scalar(query)


def claim_step(db: Session, now: datetime, centre_id: int, day: date, step: str) -> bool:
    """Mark ``step`` done for the centre and day; False if it was done already.

    The policy row is locked first (PostgreSQL), so two instances asking at once take
    turns, and the second finds the step done.
    """
    attendance_policy.policy_for(db, now, centre_id, lock=True)
    row = day_row(db, centre_id, day, lock=True)
    if row is None:
        row = AttendanceDay(job_centre_id=centre_id, day=day)
        db.add(row)
    if getattr(row, step) is not None:
        return False
    setattr(row, step, now)
    db.flush()
    return True
