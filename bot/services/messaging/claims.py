"""Claiming outbox rows as leases, and recording what became of them, a batch at a time.

A claim is a lease in real time: the database's clock, never the bot's clock (the
sandbox moves that one forward, which must not release a row still being sent). The
sender renews its leases while it works; a lease that lapses (the sender died, or
lost the database) puts the row back in the queue, and the next claim anywhere takes
it. Every claim gets a token of its own (``claimed_by``), and an outcome is recorded
only while the row still carries that token and is still being sent ("fencing"): a
sender that lost its lease never overwrites what another sender or a cancellation
decided.

One person's chat is never in two senders' hands at once: a row is not claimed while
another row of the same person is being sent or was sent less than a pause ago (about
one message a second per chat, as Telegram asks). A batch holds at most one row per
person for the same reason.

Every step is a few multi-row statements, whatever the batch size: the sender's cost
per message is the HTTP round trip, not the database.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from bot.models import OutboxMessage, OutboxStatus, Person, UTCDateTime

# How long a claim holds without being renewed. A crashed sender's rows are sent by
# another (or the restarted) instance this long after its last renewal.
LEASE_SECONDS = 15.0
# Rows claimed by a version that kept no lease: released the way it did.
LEGACY_CLAIM_TIMEOUT = timedelta(minutes=2)

SENT, RETRY, FAILED, GONE, RELEASE = "sent", "retry", "failed", "gone", "release"
OutcomeKind = Literal["sent", "retry", "failed", "gone", "release"]


def real_now(db: Session) -> float:
    """Real time in seconds since 1970 on the database's clock (one clock for every
    instance sharing it); SQLite lives on this machine, so its clock is this one."""
    if db.get_bind().dialect.name == "postgresql":
        return float(db.scalar(select(func.extract("epoch", func.clock_timestamp()))))
    return time.time()


# --- claiming ------------------------------------------------------------------------------
@dataclass
class Claim:
    token: str
    # Real time (database clock) the claim was made, and how long it holds.
    at: float
    lease_seconds: float
    messages: list[OutboxMessage] = field(default_factory=list)
    # person id -> what sending needs to know about them (no name).
    recipients: dict[int, Recipient] = field(default_factory=dict)
    # Rows put back because their sender's lease had lapsed.
    released: int = 0


@dataclass(frozen=True)
class Recipient:
    id: int
    chat_id: int | None
    language: str
    erased: bool
    unreachable: bool


def claim(db: Session, *, now: datetime, token: str, limit: int,
          lease_seconds: float = LEASE_SECONDS, own: Sequence[str] = ()) -> Claim:
    """Claim up to ``limit`` due rows, replies first, at most one per person, none for a
    person whose chat is busy. ``own``: this sender's claims still in hand, whose lapsed
    leases it renews rather than releases (one of them may be in flight). The caller
    commits right away."""
    # Write first: on SQLite this unit then holds the write lock from its first statement
    # instead of failing on a read snapshot another process's write made stale.
    real = real_now(db)
    released = release_lapsed(db, real=real, now=now, keep=own)
    result = Claim(token, real, lease_seconds, released=released)
    busy = aliased(OutboxMessage)
    chat_busy = exists().where(busy.recipient_id == OutboxMessage.recipient_id,
                               busy.lease_until > real)
    due = (select(OutboxMessage.id, OutboxMessage.recipient_id, OutboxMessage.chat_id)
           .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now,
                  or_(OutboxMessage.recipient_id.is_(None), ~chat_busy))
           .order_by(OutboxMessage.due_at, OutboxMessage.id))
    # A few spare rows, in case some are one person's second and third message.
    spare = limit + limit // 2 + 1
    # Replies to someone in the chat first (few, found through an index of their own),
    # then the rest in due order (the due index's order: nothing to sort).
    queries = [due.where(OutboxMessage.priority > 0).limit(spare), due.limit(spare)]
    if db.get_bind().dialect.name == "postgresql":
        queries = [q.with_for_update(skip_locked=True, of=OutboxMessage) for q in queries]
    chosen: list[int] = []
    seen: set[tuple[str, int | None]] = set()
    for query in queries:
        for row_id, recipient_id, chat_id in db.execute(query):
            chat = ("person", recipient_id) if recipient_id is not None else ("chat", chat_id)
            if chat in seen or len(chosen) >= limit:
                continue
            seen.add(chat)
            chosen.append(row_id)
    if not chosen:
        return result
    # The status guard keeps the claim atomic where row locks are not available.
    claimed = list(db.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(chosen), OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENDING, claimed_by=token, claimed_at=now,
                lease_until=real + lease_seconds)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ))
    if not claimed:
        return result
    result.messages = list(db.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
        .order_by(OutboxMessage.priority.desc(), OutboxMessage.due_at, OutboxMessage.id)
        .execution_options(populate_existing=True)))
    people = {m.recipient_id for m in result.messages if m.recipient_id is not None}
    if people:
        for row in db.execute(select(Person.id, Person.chat_id, Person.language,
                                     Person.erased_at, Person.unreachable_at)
                              .where(Person.id.in_(people))):
            result.recipients[row.id] = Recipient(row.id, row.chat_id, row.language,
                                                  row.erased_at is not None,
                                                  row.unreachable_at is not None)
    return result


def release_lapsed(db: Session, *, real: float, now: datetime, keep: Sequence[str] = ()
                   ) -> int:
    """Put rows whose sender's lease lapsed back in the queue (the sender died or lost the
    database; a message it had in flight may then go out twice, nothing more). Rows
    claimed under ``keep`` stay: their sender is the one asking."""
    lapsed = [OutboxMessage.status == OutboxStatus.SENDING,
              or_(OutboxMessage.lease_until < real,
                  and_(OutboxMessage.lease_until.is_(None),
                       OutboxMessage.claimed_at <= now - LEGACY_CLAIM_TIMEOUT))]
    if keep:
        lapsed.append(OutboxMessage.claimed_by.not_in(list(keep)))
    result = db.execute(
        update(OutboxMessage)
        .where(*lapsed)
        .values(status=OutboxStatus.PENDING, claimed_by=None, claimed_at=None,
                lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def renew(db: Session, tokens: Iterable[str], lease_seconds: float = LEASE_SECONDS
          ) -> tuple[float, set[int]]:
    """Extend the leases of rows still claimed under ``tokens``; returns the real time of
    the renewal and the rows still held (a row missing was cancelled, or taken over
    after the lease lapsed: its sender must not send it)."""
    tokens = list(tokens)
    real = real_now(db)
    if not tokens:
        return real, set()
    held = set(db.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.claimed_by.in_(tokens),
               OutboxMessage.status == OutboxStatus.SENDING)
        .values(lease_until=real + lease_seconds)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ))
    return real, held


def mark_skipped(db: Session, reasons: dict[int, str]) -> None:
    """Rows no longer worth sending, each with its reason; nothing personal is kept."""
    by_reason: dict[str, list[int]] = defaultdict(list)
    for row_id, reason in reasons.items():
        by_reason[reason].append(row_id)
    for reason, ids in by_reason.items():
        db.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids))
            .values(status=OutboxStatus.SKIPPED, skip_reason=reason[:40], params={},
                    chat_id=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )


# --- recording outcomes --------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What became of one claimed row."""

    id: int
    token: str
    kind: OutcomeKind
    telegram_id: int | None = None
    error: str | None = None
    # RETRY: when to try again (the bot's clock); counts_attempt False for "Telegram asked
    # to wait", which says nothing about the message.
    due_at: datetime | None = None
    counts_attempt: bool = True
    # GONE: the person who blocked the bot.
    recipient_id: int | None = None


@dataclass
class Recorded:
    recorded: set[int] = field(default_factory=set)
    # Outcomes not written, with why: the row is no longer this sender's.
    lost: dict[int, str] = field(default_factory=dict)
    # People newly found unreachable.
    unreachable: list[int] = field(default_factory=list)


def record(db: Session, outcomes: Sequence[Outcome], *, now: datetime,
           chat_pause: float) -> Recorded:
    """Write a batch of outcomes, each only if its row is still claimed under its token."""
    from bot.services.people import reachability

    result = Recorded()
    real = real_now(db)
    groups: dict[tuple[str, str, bool], list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[(outcome.kind, outcome.token, outcome.counts_attempt)].append(outcome)
    for (kind, token, counts), group in groups.items():
        values = _values(kind, group, now=now, real=real, chat_pause=chat_pause)
        if counts and kind != RELEASE:
            values["attempts"] = OutboxMessage.attempts + 1
        ids = [o.id for o in group]
        done = set(db.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == token,
                   OutboxMessage.status == OutboxStatus.SENDING)
            .values(**values)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        ))
        result.recorded |= done
        if kind == GONE:
            for person_id in sorted({o.recipient_id for o in group
                                     if o.id in done and o.recipient_id is not None}):
                if reachability.mark_unreachable(db, now, person_id):
                    result.unreachable.append(person_id)
    missing = [o.id for o in outcomes if o.id not in result.recorded]
    if missing:
        for row_id, status in db.execute(select(OutboxMessage.id, OutboxMessage.status)
                                         .where(OutboxMessage.id.in_(missing))):
            result.lost[row_id] = ("claimed by another sender" if status == OutboxStatus.SENDING
                                   else f"now {status.value}")
        for row_id in missing:
            result.lost.setdefault(row_id, "deleted")
    return result


def _values(kind: str, group: list[Outcome], *, now: datetime, real: float,
            chat_pause: float) -> dict[str, Any]:
    if kind == SENT:
        return {
            "status": OutboxStatus.SENT, "sent_at": now, "last_attempt_at": now,
            "telegram_message_id": _by_id(group, lambda o: o.telegram_id, BigInteger()),
            "last_error": None,
            # What was said is in the chat now; the queue keeps no copy of it.
            "params": {}, "chat_id": None,
            # The chat rests a moment before its next message (see claim()).
            "lease_until": real + chat_pause,
        }
    if kind == RETRY:
        return {
            "status": OutboxStatus.PENDING, "last_attempt_at": now,
            "due_at": _by_id(group, lambda o: o.due_at, UTCDateTime()),
            "last_error": _by_id(group, lambda o: (o.error or "")[:200]),
            "claimed_by": None, "claimed_at": None, "lease_until": None,
        }
    if kind in (FAILED, GONE):
        return {
            "status": OutboxStatus.FAILED, "last_attempt_at": now,
            "last_error": _by_id(group, lambda o: (o.error or "")[:200]),
            # Never delivered: nothing personal is kept.
            "params": {}, "chat_id": None, "lease_until": None,
        }
    if kind == RELEASE:
        return {"status": OutboxStatus.PENDING, "claimed_by": None, "claimed_at": None,
                "lease_until": None}
    raise ValueError(kind)


def _by_id(group: list[Outcome], value: Any, type_: Any = None) -> ColumnElement[Any]:
    """One value per row in a single statement: CASE id WHEN … THEN … END."""
    values = {o.id: value(o) for o in group}
    distinct = set(values.values())
    if len(distinct) == 1:
        return literal(distinct.pop(), type_) if type_ is not None else literal(distinct.pop())
    whens = {row_id: (literal(v, type_) if type_ is not None else literal(v))
             for row_id, v in values.items()}
    return case(whens, value=OutboxMessage.id)


# --- when to look again ----------------------------------------------------------------------
def next_lease_end(db: Session) -> float | None:
    """The earliest real time a claimed row's lease lapses, for a wake-up then: a crashed
    sender's rows go out again right after, not at the next routine look."""
    return db.scalar(select(func.min(OutboxMessage.lease_until))
                     .where(OutboxMessage.status == OutboxStatus.SENDING))


def due_waiting(db: Session, now: datetime) -> bool:
    """Whether a due row is left unclaimed (its chat is busy, or another sender holds the
    row's lock this moment)."""
    return db.scalar(select(OutboxMessage.id).where(
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.due_at <= now).limit(1)) is not None
