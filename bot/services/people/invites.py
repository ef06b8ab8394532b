"""Invites: single-use, expiring codes behind ``t.me/<bot>?start=<code>`` links.

An invite is held by the Telegram account that opened it first: a link forwarded or
seen over a shoulder before its person consented cannot be completed by anyone else.
The hold ends when that account consents (the invite is used), declines, a coach or
admin releases it, or the invite expires; the account's id is then cleared.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.errors import DomainError, NotFound
from bot.i18n import N_
from bot.models import InfoSession, Invite, JobCentre, Person, Role
from bot.services.system import audit

DEFAULT_VALIDITY = timedelta(days=14)
# Telegram allows 64 characters of [A-Za-z0-9_-] in a start parameter.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_code() -> str:
    # 24 random bytes: 32 URL-safe characters, far beyond guessing.
    return secrets.token_urlsafe(24)


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


def create(
    db: Session,
    now: datetime,
    *,
    role: Role,
    created_by: Person | None = None,
    job_centre: JobCentre | None = None,
    coach: Person | None = None,
    info_session: InfoSession | None = None,
    attendance_required: bool = False,
    valid_for: timedelta = DEFAULT_VALIDITY,
) -> Invite:
    if role == Role.ASPIRANT and job_centre is None:
        raise DomainError(N_("An aspirant invite needs a job centre."))
    if info_session is not None:
        if job_centre is None or info_session.job_centre_id != job_centre.id:
            raise DomainError(N_("That information session belongs to another job centre."))
        if info_session.cancelled_at is not None or info_session.starts_at <= now:
            raise DomainError(N_("That information session is cancelled or already started."))
    if coach is not None and not coach.has_role(Role.COACH):
        raise DomainError(N_("The chosen coach is not a coach."))
    if valid_for <= timedelta(0):
        raise DomainError(N_("An invite must be valid for at least a day."))
    invite = Invite(
        code=new_code(),
        role=role,
        job_centre_id=job_centre.id if job_centre else None,
        coach_id=coach.id if coach else None,
        info_session_id=info_session.id if info_session else None,
        attendance_required=attendance_required,
        created_by_id=created_by.id if created_by else None,
        created_at=now,
        expires_at=now + valid_for,
    )
    db.add(invite)
    db.flush()
    audit.record(db, now, "invite.create", actor=created_by, subject=invite, role=role.value)
    return invite


class InviteRefused(DomainError):
    """The code cannot be used; ``reason`` says why (unknown, used, expired)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def usable(db: Session, now: datetime, code: str, *, for_person: Person | None = None,
           telegram_user_id: int | None = None) -> Invite:
    """The invite behind ``code`` if it can still be used (by ``for_person``, from the
    account ``telegram_user_id``), else refuse."""
    invite = None
    if CODE_PATTERN.match(code or ""):
        invite = db.scalar(select(Invite).where(Invite.code == code))
    if invite is None or invite.revoked_at is not None:
        raise InviteRefused(
            N_("This invite link is not valid. Please ask your coach for a new link."), "unknown"
        )
    if invite.used_at is not None:
        if for_person is not None and invite.used_by_id == for_person.id:
            return invite
        raise InviteRefused(
            N_("This invite link has already been used. Please ask your coach for a new link."),
            "used",
        )
    if invite.expires_at <= now:
        raise InviteRefused(
            N_("This invite link has expired. Please ask your coach for a new link."), "expired"
        )
    if held_by_another(invite, telegram_user_id):
        raise InviteRefused(HELD_ELSEWHERE, "held")
    return invite


HELD_ELSEWHERE = N_("This invite link is already in use on another Telegram account. If it "
                    "was meant for you, please ask your coach to release it.")


def held_by_another(invite: Invite, telegram_user_id: int | None) -> bool:
    return (telegram_user_id is not None and invite.opened_by_user_id is not None
            and invite.opened_by_user_id != telegram_user_id)


def hold(db: Session, now: datetime, invite: Invite, telegram_user_id: int) -> None:
    """The first account to open the invite holds it (opening it again changes nothing)."""
    if invite.opened_by_user_id is not None:
        return
    invite.opened_by_user_id = telegram_user_id
    invite.opened_at = now
    db.flush()
    audit.record(db, now, "invite.open", subject=invite)


def let_go(db: Session, now: datetime, invite_id: int, telegram_user_id: int) -> None:
    """The holding account declined: the invite is free again, and its id forgotten."""
    invite = db.get(Invite, invite_id)
    if invite is not None and invite.opened_by_user_id == telegram_user_id:
        invite.opened_by_user_id = None
        invite.opened_at = None
        db.flush()
        audit.record(db, now, "invite.declined", subject=invite)


def may_release(invite: Invite, actor: Person) -> bool:
    """Its maker, its coach, or an admin of its job centre."""
    if actor.id in (invite.created_by_id, invite.coach_id):
        return True
    return any(grant.role == Role.ADMIN and grant.job_centre_id in (None, invite.job_centre_id)
               for grant in actor.roles)


def release(db: Session, now: datetime, invite_id: int, actor: Person) -> Invite:
    """A coach or admin frees a held invite: the next account to open it can use it."""
    invite = db.get(Invite, invite_id)
    if invite is None or not may_release(invite, actor):
        raise NotFound(N_("That invite does not exist."))
    if invite.used_at is not None or invite.revoked_at is not None or invite.expires_at <= now:
        raise DomainError(N_("This invite has already been used or has expired, so there is "
                             "nothing to release."))
    if invite.opened_by_user_id is not None:
        invite.opened_by_user_id = None
        invite.opened_at = None
        db.flush()
    audit.record(db, now, "invite.release", actor=actor, subject=invite)
    return invite


def forget_lapsed_holds(db: Session, now: datetime) -> int:
    """Clear the account ids of invites that can no longer be used (retention)."""
    result = db.execute(
        update(Invite)
        .where(Invite.opened_by_user_id.is_not(None),
               or_(Invite.expires_at <= now, Invite.used_at.is_not(None),
                   Invite.revoked_at.is_not(None)))
        .values(opened_by_user_id=None))
    return result.rowcount or 0


def forget_account(db: Session, telegram_user_id: int) -> None:
    """Erasure: no invite keeps this account's id."""
    db.execute(update(Invite).where(Invite.opened_by_user_id == telegram_user_id)
               .values(opened_by_user_id=None, opened_at=None))


def mark_used(db: Session, now: datetime, invite: Invite, person: Person) -> None:
    invite.used_at = now
    invite.used_by_id = person.id
    # Used: who holds it is recorded as used_by; the account id is no longer needed.
    invite.opened_by_user_id = None
    db.flush()


def get(db: Session, invite_id: int) -> Invite | None:
    return db.get(Invite, invite_id)
