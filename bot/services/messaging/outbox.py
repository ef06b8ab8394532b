"""The durable outbox: every message the bot sends on its own initiative is a row here.

Rows are claimed atomically before sending (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, a guarded UPDATE on SQLite), so two running instances never send the
same row, and a crash leaves at most the rows in flight to be sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.i18n import encode_param
from bot.models import OutboxMessage, OutboxStatus, Person

# A row claimed this long ago whose sender never reported back died with its process.
CLAIM_TIMEOUT = timedelta(minutes=2)
MAX_ATTEMPTS = 8


def enqueue(
    db: Session,
    now: datetime,
    recipient: Person,
    template: str,
    *,
    kind: str = "notice",
    params: dict[str, Any] | None = None,
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
    event_key: str | None = None,
    dedupe_key: str | None = None,
    rule_id: int | None = None,
) -> OutboxMessage | None:
    """Queue a message; returns None if ``dedupe_key`` is already queued or sent."""
    if dedupe_key is not None:
        exists = db.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
        if exists is not None:
            return None
    message = OutboxMessage(
        recipient_id=recipient.id,
        kind=kind,
        template=template,
        params={key: encode_param(value) for key, value in (params or {}).items()},
        due_at=due_at or now,
        expires_at=expires_at,
        event_key=event_key,
        dedupe_key=dedupe_key,
        rule_id=rule_id,
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=now,
    )
    db.add(message)
    db.flush()
    # Lets the caller's edge wake the dispatcher once the transaction is committed.
    db.info["outbox_queued"] = True
    return message


REPLY_KIND = "reply"


def enqueue_reply(db: Session, now: datetime, *, chat_id: int, person_id: int | None,
                  text: str, markup: Any = None) -> OutboxMessage:
    """A reply Telegram did not take in time: already worded, sent as soon as possible,
    before reminders. The text is kept only until it is sent."""
    message = OutboxMessage(
        recipient_id=person_id,
        chat_id=None if person_id is not None else chat_id,
        priority=1,
        kind=REPLY_KIND,
        template="",
        params={"text": text, "markup": markup_to_data(markup)},
        due_at=now,
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=now,
    )
    db.add(message)
    db.flush()
    db.info["outbox_queued"] = True
    return message


def markup_to_data(markup: Any) -> dict[str, Any] | None:
    """A keyboard as plain data for the JSON column (None: no keyboard)."""
    if markup is None:
        return None
    return {"type": type(markup).__name__, "data": markup.to_dict()}


def queued_in(db: Session) -> bool:
    """Whether this session queued messages (read before the session closes)."""
    return bool(db.info.get("outbox_queued"))


def claim_due(db: Session, now: datetime, worker: str, *, limit: int = 100) -> list[OutboxMessage]:
    """Claim up to ``limit`` due rows for ``worker``; the caller commits right away."""
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.scalars(query))
    if not ids:
        return []
    # The status guard makes the claim atomic where row locks are not available.
    db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENDING, claimed_by=worker, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.claimed_by == worker,
                OutboxMessage.status == OutboxStatus.SENDING,
            )
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .execution_options(populate_existing=True)
        )
    )


def release_stale_claims(db: Session, now: datetime) -> int:
    """Put rows whose sender died back in the queue (they may be sent twice: in flight)."""
    result = db.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_at <= now - CLAIM_TIMEOUT,
        )
        .values(status=OutboxStatus.PENDING, claimed_by=None, claimed_at=None)
    )
    return result.rowcount or 0


def mark_sent(message: OutboxMessage, now: datetime, telegram_message_id: int | None) -> None:
    message.status = OutboxStatus.SENT
    message.sent_at = now
    message.attempts += 1
    message.telegram_message_id = telegram_message_id
    message.last_error = None


def mark_retry(message: OutboxMessage, now: datetime, delay: timedelta, error: str) -> None:
    message.attempts += 1
    message.last_error = error[:200]
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.FAILED
        return
    message.status = OutboxStatus.PENDING
    message.due_at = now + delay
    message.claimed_by = None
    message.claimed_at = None


def mark_failed(message: OutboxMessage, error: str) -> None:
    message.attempts += 1
    message.status = OutboxStatus.FAILED
    message.last_error = error[:200]


def mark_skipped(message: OutboxMessage, reason: str) -> None:
    message.status = OutboxStatus.SKIPPED
    message.skip_reason = reason


def cancel_pending(
    db: Session,
    *,
    recipient_id: int | None = None,
    event_keys: Sequence[str] | None = None,
    reason: str = "cancelled",
    claimed_too: bool = False,
) -> int:
    """Cancel pending rows; ``claimed_too`` also stops rows another sender has claimed
    but not sent yet (its outcome is then not recorded over the cancellation)."""
    statuses = [OutboxStatus.PENDING, OutboxStatus.SENDING] if claimed_too else [
        OutboxStatus.PENDING]
    query = update(OutboxMessage).where(OutboxMessage.status.in_(statuses))
    if recipient_id is not None:
        query = query.where(OutboxMessage.recipient_id == recipient_id)
    if event_keys is not None:
        query = query.where(OutboxMessage.event_key.in_(list(event_keys)))
    result = db.execute(
        query.values(status=OutboxStatus.CANCELLED, skip_reason=reason[:40]).execution_options(
            synchronize_session=False
        )
    )
    return result.rowcount or 0


def next_due_at(db: Session) -> datetime | None:
    return db.scalar(
        select(OutboxMessage.due_at)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.due_at)
        .limit(1)
    )
