"""Reminder rules and the durable outbox of messages to send."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Time,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, str_enum
from bot.models.enums import Audience, EventKind, OutboxStatus


class ReminderRule(Base):
    """When to remind whom of an event: an offset before (negative) or after it.

    A rule with ``job_centre_id`` NULL applies to every job centre that has no
    enabled rule of its own for the same event kind (a centre's own rules replace
    the general ones, so a centre can opt out of a general reminder).
    """

    __tablename__ = "reminder_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_centre_id: Mapped[int | None] = mapped_column(ForeignKey("job_centre.id"))
    event_kind: Mapped[EventKind] = mapped_column(str_enum(EventKind))
    # Offset from the event: whole days (working days if working_days) plus minutes.
    # Days move on the local calendar (same wall-clock time across a DST change);
    # minutes are elapsed time ("2 hours before" is two real hours).
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
    __table_args__ = (
        # With the id, the claim's order (due_at, id) is the index's: 100 000 check-in
        # reminders due at the same minute are not sorted to take the first hundred.
        Index("ix_outbox_due", "status", "due_at", "id"),
        # "Is this person's chat busy?" at every claim (bot/services/messaging/claims.py).
        Index("ix_outbox_recipient_lease", "recipient_id", "lease_until"),
        # Replies waiting (few): claimed before the due order, without scanning it.
        Index("ix_outbox_replies_due", "due_at", postgresql_where=text("priority > 0"),
              sqlite_where=text("priority > 0")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    # Only for a reply to a chat whose person is not known yet; cleared once sent.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # Replies to someone in the chat (1) go before reminders and notices (0).
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
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
    # Real time (the database's clock, seconds since 1970), never the bot's clock, which
    # the sandbox moves: until when this row holds its chat. While being sent it is the
    # sender's lease (renewed while it works; a lapsed lease puts the row back in the
    # queue); once sent, the chat's pause before its next message.
    lease_until: Mapped[float | None] = mapped_column(Float)
    # When the last send attempt's outcome was recorded (the bot's clock).
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(200))
    skip_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReminderSettings(Base):
    """A job centre's quiet hours and how it counts plan deadlines.

    No row means the defaults: quiet 20:00–08:00 local time, weekends allowed,
    deadlines in working days.
    """

    __tablename__ = "reminder_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_centre_id: Mapped[int] = mapped_column(ForeignKey("job_centre.id"), unique=True)
    # Local wall-clock times; start == end means no quiet hours.
    quiet_start: Mapped[time] = mapped_column(Time)
    quiet_end: Mapped[time] = mapped_column(Time)
    quiet_weekends: Mapped[bool] = mapped_column(Boolean, default=False)
    # "Five days" means working days unless an admin chooses calendar days.
    deadline_calendar_days: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
