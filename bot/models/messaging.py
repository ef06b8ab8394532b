"""Reminder rules and the durable outbox of messages to send."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, str_enum
from bot.models.enums import Audience, EventKind, OutboxStatus


class ReminderRule(Base):
    """When to remind whom of an event: an offset before (negative) or after it."""

    __tablename__ = "reminder_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_centre_id: Mapped[int | None] = mapped_column(ForeignKey("job_centre.id"))
    event_kind: Mapped[EventKind] = mapped_column(str_enum(EventKind))
    # Offset from the event: whole days (working days if working_days) plus minutes.
    offset_days: Mapped[int] = mapped_column(Integer, default=0)
    offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    working_days: Mapped[bool] = mapped_column(Boolean, default=False)
    # For date-only events (deadlines), the local time of day the reminder goes out.
    at_local_time: Mapped[time | None] = mapped_column(Time)
    audience: Mapped[Audience] = mapped_column(str_enum(Audience))
    # {language code: text}; a missing language falls back to the default language.
    texts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A message to send, kept until sent, skipped or cancelled.

    The text is rendered at send time from ``template`` and ``params`` in the
    recipient's language of that moment, so a language switch reaches scheduled
    messages too.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    template: Mapped[str] = mapped_column(String(2000), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("reminder_rule.id"))
    event_key: Mapped[str | None] = mapped_column(String(80), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # After this moment the message is no longer meaningful and is skipped.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(200))
    skip_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
