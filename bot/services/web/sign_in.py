"""Signing in to the staff web console from the chat, and the sessions that opens.

A staff member sends ``/web``; the bot answers with a link holding a random token.
The link works once, for ``LINK_VALID`` (a newer link replaces an unused older one),
and opens a session whose token lives in an HttpOnly cookie. Only SHA-256 hashes of
tokens are stored. Redeeming is one guarded UPDATE, so two instances (or two clicks)
cannot both use a link.

Every request re-reads the session and the person: an ended or expired session, an
erased person, or one who no longer holds a staff role, is signed out at once. Times
are the bot's clock, as for invite links.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.errors import DomainError, NotAllowed, NotFound
from bot.i18n import N_
from bot.models import ConsoleSession, ConsoleSignInLink, Person, Role
from bot.services.system import audit

STAFF_ROLES = (Role.COACH, Role.TEAM_LEAD, Role.ADMIN)
# Staff pages are in Swedish or English.
CONSOLE_LANGUAGES = ("sv", "en")
LINK_VALID = timedelta(minutes=10)
# A session ends after this long without a request, and in any case after SESSION_MAX.
SESSION_IDLE = timedelta(hours=1)
SESSION_MAX = timedelta(hours=12)
# last_seen_at is written at most this often (a write per page view is not needed).
TOUCH_EVERY = timedelta(minutes=1)
# Ended and expired sessions are kept this long for the list, then removed.
KEEP_ENDED = timedelta(days=30)

LINK_REFUSED = N_("This sign-in link has already been used or has expired. Send /web to the "
                  "bot in Telegram to get a new one.")
NOT_STAFF = N_("The web console is for staff: coaches, team leads and administrators.")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(session_token: str) -> str:
    """The form token of a session: derived from the cookie's secret, so a page of another
    site, which cannot read the cookie, cannot make one."""
    return hmac.new(session_token.encode("utf-8"), b"console-form", hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(session_token), str(given))


def is_staff(person: Person | None) -> bool:
    return person is not None and person.erased_at is None and person.has_role(*STAFF_ROLES)


def console_language(language: str | None, fallback: str = "sv") -> str:
    if language in CONSOLE_LANGUAGES:
        return language  # type: ignore[return-value]
    return fallback if fallback in CONSOLE_LANGUAGES else "sv"


# --- links --------------------------------------------------------------------------------
def issue_link(db: Session, now: datetime, person: Person) -> str:
    """A new one-time token for ``person``; earlier links of theirs stop working."""
    if not is_staff(person):
        raise NotAllowed(NOT_STAFF)
    db.execute(delete(ConsoleSignInLink).where(ConsoleSignInLink.person_id == person.id))
    db.execute(delete(ConsoleSession).where(ConsoleSession.person_id == person.id,
                                            ConsoleSession.expires_at < now - KEEP_ENDED))
    token = secrets.token_urlsafe(32)
    link = ConsoleSignInLink(person_id=person.id, token_hash=token_hash(token), created_at=now,
                             expires_at=now + LINK_VALID)
    db.add(link)
    db.flush()
    audit.record(db, now, "console.link", actor=person, subject=link)
    return token


def link_is_usable(db: Session, now: datetime, token: str) -> Person | None:
    """The person a link would sign in, without using it (for the confirmation page)."""
    link = db.scalar(select(ConsoleSignInLink).where(
        ConsoleSignInLink.token_hash == token_hash(token)))
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    person = db.get(Person, link.person_id)
    return person if is_staff(person) else None


@dataclass(frozen=True)
class Opened:
    token: str  # for the cookie; never stored
    session: ConsoleSession


def redeem(db: Session, now: datetime, token: str, *, fallback_language: str = "sv") -> Opened:
    """Use a link (once) and open a session for its person."""
    hashed = token_hash(token or "")
    used = db.execute(
        update(ConsoleSignInLink)
        .where(ConsoleSignInLink.token_hash == hashed, ConsoleSignInLink.used_at.is_(None),
               ConsoleSignInLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        raise DomainError(LINK_REFUSED)
    link = db.scalar(select(ConsoleSignInLink).where(ConsoleSignInLink.token_hash == hashed))
    assert link is not None
    person = db.get(Person, link.person_id)
    if person is None or not is_staff(person):
        raise NotAllowed(NOT_STAFF)
    session_token = secrets.token_urlsafe(32)
    session = ConsoleSession(
        person_id=person.id, token_hash=token_hash(session_token),
        language=console_language(person.language, fallback_language),
        created_at=now, last_seen_at=now, expires_at=now + SESSION_MAX)
    db.add(session)
    db.flush()
    audit.record(db, now, "console.sign_in", actor=person, subject=session)
    return Opened(session_token, session)


# --- sessions -----------------------------------------------------------------------------
def is_active(session: ConsoleSession, now: datetime) -> bool:
    return (session.ended_at is None and session.expires_at > now
            and session.last_seen_at + SESSION_IDLE > now)


def resume(db: Session, now: datetime, token: str | None) -> tuple[ConsoleSession, Person] | None:
    """The session a cookie holds and its person, if both may still be used."""
    if not token:
        return None
    session = db.scalar(select(ConsoleSession).where(
        ConsoleSession.token_hash == token_hash(token)))
    if session is None or not is_active(session, now):
        return None
    person = db.get(Person, session.person_id)
    if person is None or not is_staff(person):
        session.ended_at = now
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        session.last_seen_at = now
    return session, person


def active_sessions(db: Session, now: datetime, person: Person) -> list[ConsoleSession]:
    rows = db.scalars(select(ConsoleSession).where(
        ConsoleSession.person_id == person.id, ConsoleSession.ended_at.is_(None),
        ConsoleSession.expires_at > now).order_by(ConsoleSession.created_at.desc()))
    return [row for row in rows if is_active(row, now)]


def end(db: Session, now: datetime, person: Person, session_id: int) -> ConsoleSession:
    """End one of the person's own sessions (signing out, or a browser left elsewhere)."""
    session = db.get(ConsoleSession, session_id)
    if session is None or session.person_id != person.id:
        raise NotFound(N_("That session does not exist (any more)."))
    if session.ended_at is None:
        session.ended_at = now
        audit.record(db, now, "console.sign_out", actor=person, subject=session)
    return session


def set_language(db: Session, session: ConsoleSession, language: str) -> None:
    if language not in CONSOLE_LANGUAGES:
        raise DomainError(N_("Unknown language: {language}"), language=language)
    session.language = language
