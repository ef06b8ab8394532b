"""Sends due outbox rows and records each outcome.

Claiming is a committed transaction of its own, so a second instance never
picks the same rows; each send then commits its own result. No database
connection is held while waiting for Telegram. Transient errors are retried
with backoff, a blocked bot marks the person unreachable. A reminder that is no
longer meaningful when its turn comes (the session started, the plan is done)
is skipped with the reason.

Taking turns: in the running bot, updates and jobs take turns on the database
through one lock (bot/concurrency.py). A dispatch can last minutes at 30 messages
a second, so ``run(take_turns=True)`` holds that lock only while it reads or
writes the database, never while it waits for Telegram or the rate limiter.

Pacing: the bot's rate limiter (``AIORateLimiter``) keeps to 30 messages a second
overall; the dispatcher adds Telegram's guidance of about one message a second
per chat, measured in real time (it is about the real API, not the bot's clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.db import unit_of_work
from bot.i18n import N_, translator
from bot.models import OutboxMessage, OutboxStatus, Person
from bot.runtime import Runtime
from bot.services.messaging import outbox
from bot.services.people import people
from bot.services.reminders import planner as reminders
from scheduler import reminder_buttons  # noqa: F401  (registers the reminders' buttons)
from scheduler.render import render

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
                 chat_interval: float = CHAT_INTERVAL, gate: asyncio.Lock | None = None
                 ) -> None:
        self.bot = bot
        self.runtime = runtime
        self.worker = worker or worker_name()
        self.batch_size = batch_size
        self._slots = asyncio.Semaphore(concurrency)
        self._running = asyncio.Lock()
        self.pacer = ChatPacer(chat_interval)
        self.gate = gate

    @property
    def running(self) -> bool:
        """A turn-taking run (the scheduler's) is in progress."""
        return self._running.locked()

    async def run(self, *, take_turns: bool = False) -> DispatchReport:
        """Send everything due now, batch after batch, until nothing due is left.

        ``take_turns``: take the shared gate for each database step (the scheduler's runs,
        one at a time). Without it the caller is trusted to have the database to itself
        (tests, the sandbox's time control, which holds the gate). Runs side by side never
        send a row twice: each sends only the rows it claimed.
        """
        if not take_turns:
            return await self._run(None)
        async with self._running:
            return await self._run(self.gate)

    async def _run(self, gate: asyncio.Lock | None) -> DispatchReport:
        report = DispatchReport()
        while True:
            async with _turn(gate):
                batch = self._claim(report)
            if batch is None:
                return report
            await asyncio.gather(*(self._deliver(item, report, gate) for item in batch))

    def _claim(self, report: DispatchReport) -> list[Outgoing] | None:
        """Claim due rows, skip the ones no longer meaningful, render the rest."""
        now = self.runtime.clock.now()
        with unit_of_work(self.runtime.sessions) as db:
            outbox.release_stale_claims(db, now)
            claimed = outbox.claim_due(db, now, self.worker, limit=self.batch_size)
            if not claimed:
                return None
            return [item for message in claimed
                    if (item := self._prepare(db, message, now, report)) is not None]

    def _prepare(self, db: Session, message: OutboxMessage, now: datetime,
                 report: DispatchReport) -> Outgoing | None:
        recipient = db.get(Person, message.recipient_id) if message.recipient_id else None
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

    async def _deliver(self, item: Outgoing, report: DispatchReport,
                       gate: asyncio.Lock | None) -> None:
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
        async with _turn(gate):
            self._record(item.id, report, outcome[0], **outcome[1])

    def _record(self, message_id: int, report: DispatchReport, outcome: str, *,
                sent_id: int | None = None, error: str = "",
                delay: timedelta | None = None) -> None:
        now = self.runtime.clock.now()
        with unit_of_work(self.runtime.sessions) as db:
            # Write first: SQLite then waits for another instance's write to finish instead
            # of failing on a read snapshot that write made stale.
            db.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                       .values(claimed_by=OutboxMessage.claimed_by)
                       .execution_options(synchronize_session=False))
            message = db.get(OutboxMessage, message_id)
            if message is None:
                return
            if outcome == "sent":
                outbox.mark_sent(message, now, sent_id)
                # What was said is in the chat now; the queue keeps no copy of it.
                message.params = {}
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
            if outcome == "blocked":
                recipient = db.get(Person, message.recipient_id)
                if recipient is not None:
                    _unreachable(db, now, recipient)


@contextlib.asynccontextmanager
async def _turn(gate: asyncio.Lock | None) -> AsyncIterator[None]:
    if gate is None:
        yield
        return
    async with gate:
        yield


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


def _unreachable(db: Session, now: datetime, person: Person) -> None:
    """The person blocked the bot: stop their messages and tell their coach."""
    if person.unreachable_at is not None:
        return
    person.unreachable_at = now
    outbox.cancel_pending(db, recipient_id=person.id, reason="unreachable")
    enrolment = people.active_enrolment(db, person)
    if enrolment is not None and enrolment.coach_id is not None:
        coach = db.get(Person, enrolment.coach_id)
        if coach is not None and coach.erased_at is None and coach.unreachable_at is None:
            outbox.enqueue(
                db, now, coach,
                N_("{name} can no longer be reached through the bot (they may have blocked "
                   "it). Their reminders are stopped; please contact them another way."),
                kind="coach_notice", params={"name": person.display_name or "?"},
                dedupe_key=f"unreachable:{person.id}:{now.date().isoformat()}",
            )
    log.info("person %s unreachable", person.id)

