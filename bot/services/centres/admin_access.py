"""Which job centres an admin may change: every centre, or only those they administer.

Asked again on every press and every typed step, because callback data and stored
conversation state only name ids, and a role may have been removed in between.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.errors import DomainError, NotAllowed
from bot.i18n import N_
from bot.models import JobCentre, Person, Role
from bot.services.centres import centres
from bot.services.people import people

REFUSED = N_("Sorry, this is not available to you.")


def admin_centres(person: Person | None) -> set[int] | None:
    """Centres this person administers; None means every centre (an admin of them all)."""
    if person is None:
        return set()
    where = people.centres_where(person, Role.ADMIN)
    return None if None in where else {c for c in where if c is not None}


def may_change(person: Person | None, centre_id: int | None) -> bool:
    """``centre_id`` None stands for what applies everywhere (e.g. general reminder rules)."""
    allowed = admin_centres(person)
    return allowed is None or (centre_id is not None and centre_id in allowed)


def require(person: Person | None, centre_id: int | None) -> None:
    if not may_change(person, centre_id):
        raise NotAllowed(REFUSED)


def centre(db: Session, centre_id: int | None) -> JobCentre:
    found = db.get(JobCentre, centre_id) if centre_id is not None else None
    if found is None:
        raise DomainError(N_("That job centre no longer exists."))
    return found


def changeable_centres(db: Session, person: Person | None) -> list[JobCentre]:
    allowed = admin_centres(person)
    return [c for c in centres.every(db)
            if allowed is None or c.id in allowed]
