"""Invites: single-use, expiring codes behind ``t.me/<bot>?start=<code>`` links."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import DomainError
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


def usable(db: Session, now: datetime, code: str, *, for_person: Person | None = None) -> Invite:
    """The invite behind ``code`` if it can still be used (by ``for_person``), else refuse."""
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
    return invite


def mark_used(db: Session, now: datetime, invite: Invite, person: Person) -> None:
    invite.used_at = now
    invite.used_by_id = person.id
    db.flush()


def get(db: Session, invite_id: int) -> Invite | None:
    return db.get(Invite, invite_id)
