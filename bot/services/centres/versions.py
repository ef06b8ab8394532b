"""One number per job centre that grows whenever what a check-in reads about it changes.

The check-in path keeps a copy of each centre's policy, calendar, zone and place in
memory (services/attendance/centre_facts.py). Every instance compares the copy's
version with the one it reads along with the person, so a change an admin makes on
one instance reaches every other at the next check-in.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.models import AttendancePolicy


def centre_changed(db: Session, job_centre_id: int) -> None:
    """Call after changing a centre's policy, closed days, time zone, name or place."""
    db.execute(update(AttendancePolicy)
               .where(AttendancePolicy.job_centre_id == job_centre_id)
               .values(version=AttendancePolicy.version + 1)
               .execution_options(synchronize_session=False))
