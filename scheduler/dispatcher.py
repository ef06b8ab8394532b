"""Sends due outbox rows and records each outcome.

Claiming is a committed transaction of its own, so a second instance never
picks the same rows; each send then commits its own result. Every database step
runs as a short unit of work on a database worker thread (bot/db.py), never while
waiting for Telegram. Transient errors are retried with backoff, a blocked bot
marks the person unreachable. A reminder that is no longer meaningful when its
turn comes (the session started, the plan is done) is skipped with the reason.

Pacing: the bot's rate limiter (``AIORateLimiter``) keeps to 30 messages a second
overall; the dispatcher adds Telegram's guidance of about one message a second
per chat, measured in real time (it is about the real API, not the bot's clock).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import metrics
from bot.i18n import translator
from bot.models import OutboxMessage, OutboxStatus, Person
from bot.presentation.render import render
from bot.runtime import Runtime
from bot.services.messaging import outbox
from bot.services.people import reachability
from bot.services.reminders import planner as reminders

log = logging.getLogger(__name__)

# Telegram: "avoid sending more than one message per second" to one chat.
CHAT_INTERVAL = 1.0
MAX_BACKOFF = timedelta(hours=1)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.skipped


@dataclass
class Outgoing:
    """A claimed row, rendered, ready to send without touching the database."""

    id: int
    chat_id: int
    text: str
    reply_markup: Any


class ChatPacer:
    """At most one message per ``interval`` seconds to each chat (0: no pacing)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next: dict[int, float] = {}

    async def wait(self, chat_id: int) -> None:
        if self.interval <= 0:
            return
        now = time.monotonic()
        slot = max(now, self._next.get(chat_id, 0.0))
        # Reserved before sleeping, so messages to one chat keep their order.
        self._next[chat_id] = slot + self.interval
        if len(self._next) > 50_000:
            self._next = {chat: at for chat, at in self._next.items() if at > now}
        if slot > now:
            await asyncio.sleep(slot - now)


class Dispatcher:
    def __init__(self, bot: Bot, runtime: Runtime, *, worker: str | None = None,
                 batch_size: int = 100, concurrency: int = 32,
                 chat_interval: float = CHAT_INTERVAL) -> None:
        self.bot = bot
        self.runtime = runtime
        self.worker = worker or worker_name()
        self.batch_size = batch_size
        self._slots = asyncio.Semaphore(concurrency)
        self._running = asyncio.Lock()
        self.pacer = ChatPacer(chat_interval)
        # Outcomes being written: they finish even if a run is cancelled (close() waits).
        self._recording: set[asyncio.Future[None]] = set()

    @property
    def running(self) -> bool:
        """A run is in progress."""
        return self._running.locked()

    async def run(self) -> DispatchReport:
        """Send everything due now, batch after batch, until nothing due is left.

        One run at a time per dispatcher; runs of several instances side by side never
        send a row twice: each sends only the rows it claimed.
        """
        async with self._running:
            report = DispatchReport()
            while True:
                metrics.beat()
                batch = await self.runtime.database.run(
                    lambda db: self._claim(db, report))
                if batch is None:
                    return report
                await asyncio.gather(*(self._deliver(item, report) for item in batch))

    def _claim(self, db: Session, report: DispatchReport) -> list[Outgoing] | None:
        """Claim due rows, skip the ones no longer meaningful, render the rest."""
        now = self.runtime.clock.now()
        outbox.release_stale_claims(db, now)
        claimed = outbox.claim_due(db, now, self.worker, limit=self.batch_size)
        if not claimed:
            return None
        return [item for message in claimed
                if (item := self._prepare(db, message, now, report)) is not None]

    def _prepare(self, db: Session, message: OutboxMessage, now: datetime,
                 report: DispatchReport) -> Outgoing | None:
        recipient = db.get(Person, message.recipient_id) if message.recipient_id else None
        if recipient is None and message.chat_id is not None:
            # A reply to someone not known yet (before consent): worded already.
            rendered = render(message, translator(self.runtime.settings.default_language,
                                                  self.runtime.settings.timezone))
            return Outgoing(message.id, message.chat_id, rendered.text, rendered.reply_markup)
        # The most telling reason first: a plan done beats "too late" for an admin reading it.
        reason = (_recipient_gone(recipient) or reminders.stale_reason(db, message, now)
                  or _expired(message, now))
        if reason is not None:
            outbox.mark_skipped(message, reason)
            message.params = {}  # nothing personal kept for a message never sent
            report.skipped += 1
            return None
        assert recipient is not None and recipient.chat_id is not None
        settings = self.runtime.settings
        rendered = render(message, translator(recipient.language, settings.timezone),
                          settings.default_language)
        return Outgoing(message.id, recipient.chat_id, rendered.text, rendered.reply_markup)

    async def _deliver(self, item: Outgoing, report: DispatchReport) -> None:
        async with self._slots:
            await self.pacer.wait(item.chat_id)
            try:
                sent = await self.bot.send_message(item.chat_id, item.text,
                                                   reply_markup=item.reply_markup)
            except RetryAfter as error:
                wait = timedelta(seconds=_seconds(error.retry_after) + 1)
                outcome: tuple[str, dict[str, Any]] = ("retry", {"error": "429", "delay": wait})
            except Forbidden:
                outcome = ("blocked", {"error": "403"})
            except BadRequest as error:
                outcome = ("failed", {"error": f"400 {error.message}"})
            except (TimedOut, NetworkError) as error:
                outcome = ("retry", {"error": type(error).__name__})
            except Exception as error:  # anything else: keep the row and try again later
                log.exception("sending outbox row %s failed", item.id)
                outcome = ("retry", {"error": type(error).__name__})
            else:
                outcome = ("sent", {"sent_id": sent.message_id})
        recording = asyncio.ensure_future(self.runtime.database.run(
            lambda db: self._record(db, item.id, report, outcome[0], **outcome[1])))
        self._recording.add(recording)
        recording.add_done_callback(self._recording.discard)
        # Shielded: a message that went out is recorded as sent even when the run is stopped.
        await asyncio.shield(recording)

    async def close(self) -> None:
        """Wait until every outcome already known is written (on shutdown)."""
        if self._recording:
            await asyncio.gather(*self._recording, return_exceptions=True)

    def _record(self, db: Session, message_id: int, report: DispatchReport, outcome: str, *,
                sent_id: int | None = None, error: str = "",
                delay: timedelta | None = None) -> None:
        now = self.runtime.clock.now()
        # Write first: SQLite then waits for another instance's write to finish instead
        # of failing on a read snapshot that write made stale.
        db.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                   .values(claimed_by=OutboxMessage.claimed_by)
                   .execution_options(synchronize_session=False))
        message = db.get(OutboxMessage, message_id)
        if message is None:
            return
        metrics.SENDS.labels(outcome).inc()
        if outcome == "sent":
            outbox.mark_sent(message, now, sent_id)
            # What was said is in the chat now; the queue keeps no copy of it.
            message.params = {}
            message.chat_id = None
            report.sent += 1
            return
        if outcome == "retry":
            outbox.mark_retry(message, now, delay or _backoff(message.attempts), error)
            if message.status == OutboxStatus.PENDING:
                report.retried += 1
                return
        else:
            outbox.mark_failed(message, error)
        report.failed += 1
        report.errors.append(error)
        if outcome == "blocked" and message.recipient_id is not None:
            reachability.mark_unreachable(db, now, message.recipient_id)


def _backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=5 * 2 ** attempts))


def _recipient_gone(recipient: Person | None) -> str | None:
    if recipient is None or recipient.erased_at is not None or recipient.chat_id is None:
        return "no_recipient"
    if recipient.unreachable_at is not None:
        return "unreachable"
    return None


def _expired(message: OutboxMessage, now: datetime) -> str | None:
    if message.expires_at is not None and message.expires_at <= now:
        return "expired"
    return None


def _seconds(value: object) -> int:
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value)  # type: ignore[call-overload]
