"""What the outbox holds and what became of a person's messages, for an operator.

``status`` answers "is sending keeping up?": the queue by state and kind, how late the
oldest due message is, what is being sent and by whom, what failed in the last hour
and why. ``person`` answers a coach's "why didn't they get a reminder?": that person's
recent and planned messages, each with its outcome or the reason it was not sent.
Kinds, states, codes and ids only: no message text, no name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.models import OutboxMessage, OutboxStatus, Person, RoleGrant
from bot.services.messaging import send_budget
from bot.services.messaging.claims import real_now

FINISHED = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.SKIPPED,
            OutboxStatus.CANCELLED)


@dataclass
class Sender:
    """An instance holding leases: its name, rows held, seconds until the first lapses."""

    name: str
    rows: int
    lease_left: float


@dataclass
class QueueStatus:
    now: datetime
    # (state, kind, rows): the queue (pending, sending), then what was due in the last day.
    queued: list[tuple[str, str, int]] = field(default_factory=list)
    last_day: list[tuple[str, str, int]] = field(default_factory=list)
    due_now: int = 0
    oldest_due: datetime | None = None
    next_due: datetime | None = None
    senders: list[Sender] = field(default_factory=list)
    lapsed: int = 0
    # (last error, rows): failed in the last hour; waiting to be tried again.
    failures: list[tuple[str, int]] = field(default_factory=list)
    retrying: list[tuple[str, int]] = field(default_factory=list)
    # Telegram asked to wait: seconds still to wait (0: not holding off).
    held_for: float = 0.0

    @property
    def lateness(self) -> timedelta | None:
        return self.now - self.oldest_due if self.oldest_due is not None else None


def status(db: Session, now: datetime) -> QueueStatus:
    result = QueueStatus(now)
    m = OutboxMessage
    waiting = (OutboxStatus.PENDING, OutboxStatus.SENDING)
    result.queued = [(s.value, kind, n) for s, kind, n in db.execute(
        select(m.status, m.kind, func.count()).where(m.status.in_(waiting))
        .group_by(m.status, m.kind).order_by(m.status, m.kind))]
    result.last_day = [(s.value, kind, n) for s, kind, n in db.execute(
        select(m.status, m.kind, func.count())
        .where(m.status.in_(FINISHED), m.due_at > now - timedelta(days=1), m.due_at <= now)
        .group_by(m.status, m.kind).order_by(m.status, m.kind))]
    due = (m.status == OutboxStatus.PENDING, m.due_at <= now)
    result.due_now, result.oldest_due = db.execute(
        select(func.count(), func.min(m.due_at)).where(*due)).one()
    if result.oldest_due is not None:
        result.oldest_due = _utc(result.oldest_due)
    result.next_due = db.scalar(select(func.min(m.due_at)).where(
        m.status == OutboxStatus.PENDING, m.due_at > now))
    real = real_now(db)
    held: dict[str, list[float]] = {}
    for token, lease in db.execute(select(m.claimed_by, m.lease_until)
                                   .where(m.status == OutboxStatus.SENDING)):
        if lease is not None and lease < real:
            result.lapsed += 1
            continue
        held.setdefault((token or "?").split("/", 1)[0], []).append(
            (lease or real) - real)
    result.senders = [Sender(name, len(leases), min(leases))
                      for name, leases in sorted(held.items())]
    result.failures = _by_error(db, m.status == OutboxStatus.FAILED,
                                m.last_attempt_at >= now - timedelta(hours=1))
    result.retrying = _by_error(db, m.status == OutboxStatus.PENDING, m.last_error.is_not(None))
    budget = send_budget.state(db)
    if budget is not None:
        _next_slot, held_until, budget_now = budget
        result.held_for = max(0.0, held_until - budget_now)
    return result


def _by_error(db: Session, *where: object) -> list[tuple[str, int]]:
    m = OutboxMessage
    return [(error or "?", n) for error, n in db.execute(
        select(m.last_error, func.count()).where(*where).group_by(m.last_error)
        .order_by(func.count().desc(), m.last_error))]


# --- one person ----------------------------------------------------------------------------
@dataclass
class PersonMessage:
    id: int
    kind: str
    status: str
    due_at: datetime
    attempts: int
    sent_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    skip_reason: str | None
    expires_at: datetime | None


@dataclass
class PersonMessages:
    person_id: int
    roles: list[str]
    language: str
    has_chat: bool
    erased_at: datetime | None
    unreachable_at: datetime | None
    messages: list[PersonMessage]


def person(db: Session, now: datetime, person_id: int, *, days: int = 14
           ) -> PersonMessages | None:
    """The person's messages due in the last ``days`` days and every one still planned."""
    found = db.get(Person, person_id)
    if found is None:
        return None
    m = OutboxMessage
    rows = db.scalars(
        select(m).where(m.recipient_id == person_id,
                        or_(m.due_at >= now - timedelta(days=days),
                            m.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])))
        .order_by(m.due_at, m.id).limit(500))
    roles = sorted({grant.role.value for grant in db.scalars(
        select(RoleGrant).where(RoleGrant.person_id == person_id))})
    return PersonMessages(
        person_id=found.id, roles=roles, language=found.language,
        has_chat=found.chat_id is not None, erased_at=found.erased_at,
        unreachable_at=found.unreachable_at,
        messages=[PersonMessage(r.id, r.kind, r.status.value, r.due_at, r.attempts or 0,
                                r.sent_at, r.last_attempt_at, r.last_error, r.skip_reason,
                                r.expires_at) for r in rows])


def _utc(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
