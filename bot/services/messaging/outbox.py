"""The durable outbox: every message the bot sends on its own initiative is a row here.

Rows are claimed as leases before sending (``bot.services.messaging.claims``:
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a guarded UPDATE on SQLite), so two running
instances never send the same row, and a crash leaves at most the rows in flight to be
sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.i18n import encode_param
from bot.models import OutboxMessage, OutboxStatus, Person

# Sends that failed for a reason of our own (not Telegram's answer) before the row is
# given up. Telegram asking to wait (429), its server errors and timeouts never give a
# row up: only "this message is wrong" (400) and "this person is gone" (403) do.
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
