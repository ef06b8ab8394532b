"""From an invite code to an enrolled aspirant (or a staff member with a role).

Nothing about an aspirant is stored before they accept the consent text: until
then the conversation row holds only the invite id and the chosen language, and the
invite is held for the Telegram account that opened it (so a forwarded link cannot be
completed by someone else); declining deletes the row and frees the invite.

A staff invite never silently changes an account that is already registered: a member
of staff is asked before the role is added, and an aspirant's account is refused (a
staff role is never added to an aspirant), with the reason sent to whoever made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import DomainError
from bot.i18n import N_
from bot.models import Enrolment, Invite, JobCentre, Person, Role
from bot.services.messaging import outbox
from bot.services.people import invites, people
from bot.services.system import audit

FLOW = "onboarding"


def throttle_key(telegram_user_id: int) -> str:
    """The counter of an account's invalid invite links."""
    return f"start:{telegram_user_id}"


@dataclass
class Opening:
    """What opening an invite link leads to."""

    invite: Invite
    # "staff": role granted now; "ask": a registered member of staff is asked first;
    # "refused": a staff invite opened by an aspirant; "again": the user's own used
    # invite; "aspirant": start the flow
    outcome: str


ASPIRANT_REFUSED = N_("This invite is for staff. Your account is registered as an aspirant, "
                      "and a staff role is never added to an aspirant's account, so the "
                      "invite was not used. If this is a mistake, please talk to the person "
                      "who sent it.")


def open_invite(db: Session, now: datetime, code: str, person: Person | None,
                telegram_user_id: int) -> Opening:
    invite = invites.usable(db, now, code, for_person=person, telegram_user_id=telegram_user_id)
    if invite.used_at is not None:
        return Opening(invite, "again")
    if invite.role != Role.ASPIRANT:
        if person is not None and person.has_role(Role.ASPIRANT):
            # Refused, and the invite left free for the member of staff it was meant for.
            _tell_maker_aspirant_refused(db, now, invite)
            audit.record(db, now, "invite.refused", actor=person, subject=invite,
                         reason="aspirant_account")
            return Opening(invite, "refused")
        invites.hold(db, now, invite, telegram_user_id)
        return Opening(invite, "ask" if person is not None and person.roles else "staff")
    if person is not None:
        # Someone already known cannot take an aspirant's place; the invite stays valid.
        raise DomainError(
            N_("You are already registered, so this link cannot be used by you. "
               "It is meant for someone else and still works for them.")
        )
    invites.hold(db, now, invite, telegram_user_id)
    return Opening(invite, "aspirant")


def refused_elsewhere(db: Session, now: datetime, code: str) -> None:
    """An account other than the holder opened the invite: its maker (or coach) is told
    once per hold, with a button to release it."""
    invite = db.scalar(select(Invite).where(Invite.code == code))
    if invite is None or invite.opened_at is None:
        return
    audit.record(db, now, "invite.refused", subject=invite, reason="held")
    recipient = _maker(db, invite)
    if recipient is None:
        return
    outbox.enqueue(
        db, now, recipient,
        N_("Your invite link for {centre}, made on {date}, was opened on another Telegram "
           "account than the one that opened it first, and was refused. If the person you "
           "invited says the link does not work for them, release it: the next account that "
           "opens it can then use it."),
        kind=HELD_NOTICE,
        params={"centre": _centre_name(db, invite), "date": invite.created_at.date(),
                "invite": invite.id},
        dedupe_key=f"invite-held:{invite.id}:{invite.opened_at.isoformat()}",
    )


HELD_NOTICE = "invite_held"
ASPIRANT_REFUSED_NOTICE = "invite_aspirant_refused"


def _tell_maker_aspirant_refused(db: Session, now: datetime, invite: Invite) -> None:
    recipient = _maker(db, invite)
    if recipient is None:
        return
    # Worded by bot/presentation/invite_views.py, which names the role.
    outbox.enqueue(db, now, recipient, "", kind=ASPIRANT_REFUSED_NOTICE,
                   params={"role": invite.role.value, "centre": _centre_name(db, invite)},
                   dedupe_key=f"invite-aspirant:{invite.id}")


def _maker(db: Session, invite: Invite) -> Person | None:
    for person_id in (invite.created_by_id, invite.coach_id):
        person = people.get(db, person_id)
        if person is not None:
            return person
    return None


def _centre_name(db: Session, invite: Invite) -> str:
    centre = db.get(JobCentre, invite.job_centre_id) if invite.job_centre_id else None
    return centre.name if centre is not None else "—"


def answer_staff_invite(db: Session, now: datetime, invite_id: int, person: Person,
                        telegram_user_id: int, *, accept: bool) -> Invite | None:
    """A registered member of staff asked whether to add the invite's role: yes grants it
    (the invite is used), no frees the invite for someone else. None: nothing to answer
    any more (used, expired, or no longer held by this account)."""
    invite = invites.get(db, invite_id)
    if (invite is None or invite.role == Role.ASPIRANT or invite.used_at is not None
            or invite.revoked_at is not None or invite.expires_at <= now
            or invite.opened_by_user_id != telegram_user_id):
        return None
    if not accept:
        invites.let_go(db, now, invite.id, telegram_user_id)
        return invite
    if person.has_role(Role.ASPIRANT):
        return None
    accept_staff_invite(db, now, invite, person=person, telegram_user_id=telegram_user_id,
                        chat_id=person.chat_id or telegram_user_id, language=person.language,
                        display_name=person.display_name)
    return invite


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
    # Refused if another account holds it (it was released and opened there meanwhile).
    invite = invites.usable(db, now, code, telegram_user_id=telegram_user_id)
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
