"""People and their roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import DomainError
from bot.i18n import N_
from bot.models import Enrolment, Person, Role, RoleGrant
from bot.services.system import audit


def by_telegram_id(db: Session, telegram_user_id: int) -> Person | None:
    return db.scalar(select(Person).where(Person.telegram_user_id == telegram_user_id))


def create_person(
    db: Session,
    now: datetime,
    *,
    telegram_user_id: int,
    chat_id: int,
    language: str,
    display_name: str | None,
) -> Person:
    person = Person(
        telegram_user_id=telegram_user_id,
        chat_id=chat_id,
        language=language,
        display_name=_trim_name(display_name),
        created_at=now,
    )
    db.add(person)
    db.flush()
    return person


def _trim_name(name: str | None) -> str | None:
    if not name:
        return None
    return name.strip()[:64] or None


def grant_role(
    db: Session,
    now: datetime,
    person: Person,
    role: Role,
    *,
    job_centre_id: int | None = None,
    granted_by: Person | None = None,
) -> RoleGrant:
    for grant in person.roles:
        if grant.role == role and grant.job_centre_id == job_centre_id:
            return grant
    grant = RoleGrant(
        role=role,
        job_centre_id=job_centre_id,
        granted_at=now,
        granted_by_id=granted_by.id if granted_by else None,
    )
    person.roles.append(grant)
    db.flush()
    return grant


def roles_of(person: Person | None) -> set[Role]:
    return {grant.role for grant in person.roles} if person is not None else set()


def centres_where(person: Person, *roles: Role) -> set[int | None]:
    """Job centres where the person holds one of the roles; None means every centre."""
    return {grant.job_centre_id for grant in person.roles if grant.role in roles}


def current_enrolment(db: Session, aspirant_id: int, *, job_centre_id: int | None = None
                       ) -> Enrolment | None:
    """The aspirant's current enrolment (at ``job_centre_id``, if given): the newest one
    that has not ended. The same rule, as a Core subquery, is
    ``identity.current_enrolment_id``."""
    query = select(Enrolment).where(Enrolment.aspirant_id == aspirant_id,
                                    Enrolment.left_at.is_(None))
    if job_centre_id is not None:
        query = query.where(Enrolment.job_centre_id == job_centre_id)
    return db.scalar(query.order_by(Enrolment.id.desc()).limit(1))


def active_enrolment(db: Session, person: Person) -> Enrolment | None:
    return current_enrolment(db, person.id)


def get(db: Session, person_id: int | None) -> Person | None:
    """A person who has not been erased."""
    person = db.get(Person, person_id) if person_id is not None else None
    return person if person is not None and person.erased_at is None else None


def coaches_at(db: Session, job_centre_id: int) -> list[Person]:
    return list(
        db.scalars(
            select(Person)
            .join(RoleGrant, RoleGrant.person_id == Person.id)
            .where(
                RoleGrant.role == Role.COACH,
                (RoleGrant.job_centre_id == job_centre_id) | RoleGrant.job_centre_id.is_(None),
                Person.erased_at.is_(None),
            )
            .order_by(Person.id)
            .distinct()
        )
    )


def revoke_role(db: Session, now: datetime, person: Person, role: Role,
                job_centre_id: int | None, *, actor: Person | None) -> None:
    grant = next((g for g in person.roles
                  if g.role == role and g.job_centre_id == job_centre_id), None)
    if grant is None:
        raise DomainError(N_("That role has already been removed."))
    if actor is not None and actor.id == person.id and role == Role.ADMIN:
        raise DomainError(N_("You cannot remove your own administrator role."))
    person.roles.remove(grant)
    db.flush()
    audit.record(db, now, "role.revoke", actor=actor, subject=person, role=role.value,
                 job_centre_id=job_centre_id)


def staff_of(db: Session, job_centre_id: int) -> list[tuple[Person, RoleGrant]]:
    rows = db.execute(
        select(Person, RoleGrant).join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(RoleGrant.job_centre_id == job_centre_id, RoleGrant.role != Role.ASPIRANT,
               Person.erased_at.is_(None))
        .order_by(RoleGrant.role, Person.display_name))
    return [(person, grant) for person, grant in rows]


def grant(db: Session, grant_id: int) -> RoleGrant | None:
    return db.get(RoleGrant, grant_id)


def enrolment(db: Session, enrolment_id: int) -> Enrolment | None:
    return db.get(Enrolment, enrolment_id)
