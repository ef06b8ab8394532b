"""Social workers (socialsekreterare): linked to aspirants, they see those aspirants'
attendance statements and plan status, and nothing else.

Social services decide on assistance, and use the job plan and the attendance data to
do so. A social worker is invited like staff (the role ``social_worker``, at a job
centre or everywhere); the aspirant's coach links them to the aspirant from the
caseload. The aspirant is told who sees their attendance and plan, and sees it under
/mydata. The link is personal data: it is cleared when the aspirant is erased.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import DomainError, NotFound
from bot.i18n import N_
from bot.models import Enrolment, Person, Role, RoleGrant
from bot.services.attendance import follow_up
from bot.services.messaging import outbox
from bot.services.system import audit


def available(db: Session, centre_id: int) -> list[Person]:
    """Social workers who may be linked to aspirants of the centre."""
    return list(db.scalars(
        select(Person).join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(RoleGrant.role == Role.SOCIAL_WORKER,
               (RoleGrant.job_centre_id == centre_id) | RoleGrant.job_centre_id.is_(None),
               Person.erased_at.is_(None))
        .order_by(Person.display_name, Person.id).distinct()))


def _social_worker_at(db: Session, person_id: int, centre_id: int) -> Person:
    found = next((p for p in available(db, centre_id) if p.id == person_id), None)
    if found is None:
        raise NotFound(N_("That social worker cannot be linked to aspirants of this job "
                          "centre."))
    return found


def link(db: Session, now: datetime, actor: Person, enrolment_id: int,
         social_worker_id: int) -> Enrolment:
    """The coach links the aspirant to their social worker, who from now on sees the
    aspirant's attendance statements and plan status; both are told."""
    enrolment = follow_up.enrolment_for(db, actor, enrolment_id)
    if enrolment.left_at is not None:
        raise DomainError(N_("This aspirant has left the job centre."))
    worker = _social_worker_at(db, social_worker_id, enrolment.job_centre_id)
    if enrolment.social_worker_id == worker.id:
        return enrolment
    enrolment.social_worker_id = worker.id
    db.flush()
    audit.record(db, now, "enrolment.social_worker", actor=actor, subject=enrolment,
                 social_worker=worker.id)
    aspirant = enrolment.aspirant
    if aspirant.erased_at is None:
        outbox.enqueue(
            db, now, aspirant,
            N_("Your social worker {name} now gets your attendance at the job centre and the "
               "status of your job plan, as social services use them to decide on your "
               "support. You can see this under “My data”."),
            kind="notice", params={"name": worker.display_name or "?"})
    outbox.enqueue(
        db, now, worker,
        N_("{name} ({centre}) is now linked to you: you get their attendance statement every "
           "week, and can see it and their plan with /statements."),
        kind="notice", params={"name": aspirant.display_name or "?",
                               "centre": enrolment.job_centre.name})
    return enrolment


def unlink(db: Session, now: datetime, actor: Person, enrolment_id: int) -> Enrolment:
    enrolment = follow_up.enrolment_for(db, actor, enrolment_id)
    if enrolment.social_worker_id is None:
        return enrolment
    previous = enrolment.social_worker_id
    enrolment.social_worker_id = None
    db.flush()
    audit.record(db, now, "enrolment.social_worker", actor=actor, subject=enrolment,
                 social_worker=None, previous=previous)
    return enrolment


def linked(db: Session, social_worker: Person) -> list[tuple[Enrolment, Person]]:
    """The enrolments linked to the social worker, of aspirants not erased, by name."""
    rows = db.execute(
        select(Enrolment, Person).join(Person, Person.id == Enrolment.aspirant_id)
        .where(Enrolment.social_worker_id == social_worker.id, Person.erased_at.is_(None))
        .order_by(Person.display_name, Enrolment.id))
    return [(enrolment, person) for enrolment, person in rows]


def is_linked(person: Person, enrolment: Enrolment) -> bool:
    return (enrolment.social_worker_id == person.id and person.erased_at is None
            and person.has_role(Role.SOCIAL_WORKER))


def visible_enrolment(db: Session, actor: Person, enrolment_id: int) -> Enrolment:
    """An enrolment whose statements the actor may see: their coach, a team lead or admin
    of the centre, or the social worker linked to it. Anyone else: it does not exist."""
    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is not None and is_linked(actor, enrolment):
        return enrolment
    return follow_up.enrolment_for(db, actor, enrolment_id)
