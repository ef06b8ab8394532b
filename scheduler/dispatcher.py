"""Sends due outbox rows and records each outcome.

Claiming is a committed transaction of its own, so a second instance never
picks the same rows; each send then commits its own result. Transient errors
are retried with backoff, a blocked bot marks the person unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.db import unit_of_work
from bot.i18n import N_, translator
from bot.models import OutboxMessage, Person
from bot.runtime import Runtime
from bot.services import outbox, people
from scheduler.render import render

log = logging.getLogger(__name__)


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


class Dispatcher:
    def __init__(self, bot: Bot, runtime: Runtime, *, worker: str | None = None,
                 batch_size: int = 100, concurrency: int = 32) -> None:
        self.bot = bot
        self.runtime = runtime
        self.worker = worker or worker_name()
        self.batch_size = batch_size
        self._slots = asyncio.Semaphore(concurrency)
        self._running = asyncio.Lock()

    async def run(self) -> DispatchReport:
        """Send everything due now, batch after batch, until nothing due is left."""
        report = DispatchReport()
        async with self._running:
            while True:
                claimed = self._claim()
                if not claimed:
                    return report
                await asyncio.gather(*(self._send(message_id, report) for message_id in claimed))

    def _claim(self) -> list[int]:
        now = self.runtime.clock.now()
        with unit_of_work(self.runtime.sessions) as db:
            outbox.release_stale_claims(db, now)
            return [m.id for m in outbox.claim_due(db, now, self.worker, limit=self.batch_size)]

    async def _send(self, message_id: int, report: DispatchReport) -> None:
        async with self._slots:
            with unit_of_work(self.runtime.sessions) as db:
                message = db.get(OutboxMessage, message_id)
                if message is None:
                    return
                now = self.runtime.clock.now()
                recipient = db.get(Person, message.recipient_id) if message.recipient_id else None
                reason = _skip_reason(message, recipient, now)
                if reason is not None:
                    outbox.mark_skipped(message, reason)
                    report.skipped += 1
                    return
                assert recipient is not None and recipient.chat_id is not None
                rendered = render(message, translator(recipient.language,
                                                      self.runtime.settings.timezone))
                try:
                    sent = await self.bot.send_message(recipient.chat_id, rendered.text,
                                                       reply_markup=rendered.reply_markup)
                except RetryAfter as error:
                    delay = _seconds(error.retry_after) + 1
                    outbox.mark_retry(message, self.runtime.clock.now(),
                                      timedelta(seconds=delay), "429")
                    report.retried += 1
                except Forbidden:
                    outbox.mark_failed(message, "403")
                    _unreachable(db, self.runtime.clock.now(), recipient)
                    report.failed += 1
                except BadRequest as error:
                    outbox.mark_failed(message, f"400 {error.message}")
                    report.failed += 1
                except (TimedOut, NetworkError) as error:
                    delay = min(3600, 5 * 2 ** message.attempts)
                    outbox.mark_retry(message, self.runtime.clock.now(),
                                      timedelta(seconds=delay), type(error).__name__)
                    report.retried += 1
                else:
                    outbox.mark_sent(message, self.runtime.clock.now(), sent.message_id)
                    # What was said is in the chat now; the queue keeps no copy of it.
                    message.params = {}
                    report.sent += 1


def _skip_reason(message: OutboxMessage, recipient: Person | None, now) -> str | None:  # type: ignore[no-untyped-def]
    if recipient is None or recipient.erased_at is not None or recipient.chat_id is None:
        return "no_recipient"
    if recipient.unreachable_at is not None:
        return "unreachable"
    if message.expires_at is not None and message.expires_at <= now:
        return "expired"
    return None


def _seconds(value: object) -> int:
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value)  # type: ignore[call-overload]


def _unreachable(db, now, person: Person) -> None:  # type: ignore[no-untyped-def]
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
