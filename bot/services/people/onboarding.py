"""From an invite code to an enrolled aspirant (or a staff member with a role).

Nothing about an aspirant is stored before they accept the consent text: until
then the conversation row holds only the invite id and the chosen language, and
declining deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.errors import DomainError
from bot.i18n import N_
from bot.models import Enrolment, Invite, Person, Role
from bot.services.messaging import outbox
from bot.services.people import invites, people
from bot.services.system import audit

FLOW = "onboarding"


@dataclass
class Opening:
    """What opening an invite link leads to."""

    invite: Invite
    # "staff": role granted now; "again": the user's own used invite; "aspirant": start the flow
    outcome: str


def open_invite(db: Session, now: datetime, code: str, person: Person | None) -> Opening:
    invite = invites.usable(db, now, code, for_person=person)
    if invite.used_at is not None:
        return Opening(invite, "again")
    if invite.role != Role.ASPIRANT:
        return Opening(invite, "staff")
    if person is not None:
        # Someone already known cannot take an aspirant's place; the invite stays valid.
        raise DomainError(
            N_("You are already registered, so this link cannot be used by you. "
               "It is meant for someone else and still works for them.")
        )
    return Opening(invite, "aspirant")


def accept_staff_invite(
    db: Session, now: datetime, invite: Invite, *, person: Person | None, telegram_user_id: int,
    chat_id: int, language: str, display_name: str | None,
) -> Person:
    if person is None:
        person = people.create_person(db, now, telegram_user_id=telegram_user_id,
                                      chat_id=chat_id, language=language,
                                      display_name=display_name)
        person.consent_at = now
    people.grant_role(db, now, person, invite.role, job_centre_id=invite.job_centre_id)
    invites.mark_used(db, now, invite, person)
    audit.record(db, now, "invite.accept", actor=person, subject=invite, role=invite.role.value)
    return person


def enrol_aspirant(
    db: Session, now: datetime, invite_id: int, code: str, *, telegram_user_id: int,
    chat_id: int, language: str, display_name: str | None,
) -> tuple[Person, Enrolment]:
    """Consent given: create the person and the enrolment, and use up the invite."""
    if people.by_telegram_id(db, telegram_user_id) is not None:
        raise DomainError(N_("You are already registered."))
    invite = invites.usable(db, now, code)
    if invite.id != invite_id or invite.role != Role.ASPIRANT or invite.used_at is not None:
        raise invites.InviteRefused(
            N_("This invite link is not valid. Please ask your coach for a new link."), "unknown"
        )
    person = people.create_person(db, now, telegram_user_id=telegram_user_id, chat_id=chat_id,
                                  language=language, display_name=display_name)
    person.consent_at = now
    people.grant_role(db, now, person, Role.ASPIRANT, job_centre_id=invite.job_centre_id)
    assert invite.job_centre_id is not None
    enrolment = Enrolment(
        aspirant_id=person.id,
        job_centre_id=invite.job_centre_id,
        coach_id=invite.coach_id,
        attendance_required=invite.attendance_required,
        invite_id=invite.id,
        enrolled_at=now,
    )
    db.add(enrolment)
    invites.mark_used(db, now, invite, person)
    db.flush()
    audit.record(db, now, "aspirant.enrol", actor=person, subject=enrolment)
    if enrolment.coach_id is not None:
        coach = db.get(Person, enrolment.coach_id)
        if coach is not None and coach.erased_at is None:
            outbox.enqueue(
                db, now, coach,
                N_("{name} has joined through your invite and agreed to the terms."),
                kind="coach_notice", params={"name": display_name or "?"},
            )
    return person, enrolment
