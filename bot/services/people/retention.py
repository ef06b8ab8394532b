"""Automatic erasure once the retention period after an aspirant left has passed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Enrolment, Person, Role
from bot.services.centres import org_settings
from bot.services.people import erasure, invites


def erase_expired(db: Session, now: datetime) -> int:
    """Erase everyone whose every enrolment ended more than the retention period ago, and
    forget which accounts opened invites that can no longer be used."""
    invites.forget_lapsed_holds(db, now)
    cutoff = now - timedelta(days=org_settings.get(db, org_settings.RETENTION_DAYS))
    still_enrolled = select(Enrolment.aspirant_id).where(Enrolment.left_at.is_(None))
    expired = (
        select(Person)
        .join(Enrolment, Enrolment.aspirant_id == Person.id)
        .where(Person.erased_at.is_(None), Person.id.not_in(still_enrolled))
        .group_by(Person.id)
        .having(func.max(Enrolment.left_at) <= cutoff)
    )
    erased = 0
    for person in db.scalars(expired).all():
        # Someone who is also staff keeps their account; only the aspirant's case ended.
        if any(grant.role != Role.ASPIRANT for grant in person.roles):
            continue
        erasure.erase(db, now, person, actor=None, reason="retention")
        erased += 1
    return erased
