"""Sends due outbox rows and records what became of each, fast, exactly once where it can.

A run is a small pipeline on the event loop:

* the claimer takes due rows as leases, a batch at a time (bot/services/messaging/
  claims.py: replies first, one row per person, no person whose chat is busy), skips
  the ones no longer meaningful and renders the rest, all in one unit of work;
* the feeder hands the most urgent claimed row to a send of its own (``concurrency`` at
  once) as soon as it has a slot of the bot's sending budget (bot/transport/budget.py:
  30 a second for the whole bot, replies to someone in the chat before a bulk run), so
  a row claimed a moment ago for someone in the chat goes before the run's next one;
* the recorder writes outcomes in batches, as fast as they come, so a crash leaves at
  most the messages in flight unrecorded (sent again after their lease lapses);
* the keeper renews the leases while rows wait their turn.

Telegram's answers (bot/transport/telegram_errors.py): 429 is waited out, as long as it
asks, without using up an attempt; server errors and timeouts put the row back with a
growing, jittered delay; only 400 (the message is wrong) and 403 (the person blocked
the bot) end a row, and a 403 stops that person's other rows at once.

When the database cannot record outcomes, sending stops until it can (the outcomes are
kept and written when it answers again): a message is never sent that its sender
could not then record. Leases run in real time (the database's clock), never the bot's
clock, which the sandbox moves forward.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from telegram import Bot

from bot.i18n import translator
from bot.models import Booking, Enrolment, OutboxMessage, PlanMilestone, ReminderRule
from bot.presentation.render import render
from bot.runtime import Runtime
from bot.services.messaging import claims
from bot.services.messaging.claims import FAILED, LEASE_SECONDS, Outcome, Recipient
from bot.services.reminders import planner as reminders
from bot.transport.budget import budget_of
from scheduler.outbox_run import (
    CLOSE_PATIENCE,
    Batch,
    DispatchReport,
    Outgoing,
    Run,
)

__all__ = ["CHAT_INTERVAL", "ChatPacer", "DispatchReport", "Dispatcher", "Outgoing"]

log = logging.getLogger(__name__)

# Telegram: "avoid sending more than one message per second" to one chat.
CHAT_INTERVAL = 1.0
# Sends under way at once: enough to keep a far-away Bot API busy when the budget is
# off (a paid broadcast limit, a local Bot API server); also what a crash can leave
# sent but unrecorded.
CONCURRENCY = 64


def worker_name() -> str:
    # The random part tells two processes apart even in containers that all run as pid 1.
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


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
                 batch_size: int = 100, concurrency: int = CONCURRENCY,
                 chat_interval: float = CHAT_INTERVAL,
                 lease_seconds: float = LEASE_SECONDS) -> None:
        self.bot = bot
        self.runtime = runtime
        self.worker = worker or worker_name()
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.chat_interval = chat_interval
        self.lease_seconds = lease_seconds
        self.pacer = ChatPacer(chat_interval)
        self.budget = budget_of(bot)
        self._running = asyncio.Lock()
        self._serial = itertools.count(1)
        self._current: Run | None = None
        self._again = False
        self._stopping = False
        self.task: asyncio.Task[Any] | None = None

    @property
    def running(self) -> bool:
        """A run is in progress."""
        return self._running.locked()

    def nudge(self) -> None:
        """Something was queued: a run in progress claims at once, and looks again before
        it ends."""
        self._again = True
        if self._current is not None:
            self._current.nudge()

    async def run(self) -> DispatchReport:
        """Send everything due now, until nothing due is left that this sender can take.

        One run at a time per dispatcher; runs of several instances side by side never
        send a row twice: each sends only the rows it holds the lease of.
        """
        async with self._running:
            report = DispatchReport()
            while not self._stopping:
                self._again = False
                self._current = Run(self, report)
                try:
                    await self._current.go()
                finally:
                    self._current = None
                if not self._again:
                    break
            return report

    async def close(self) -> None:
        """Stop (on shutdown): claim nothing more, put back what was claimed but not sent,
        let the sends under way finish and write their outcomes."""
        self._stopping = True
        current = self._current
        if current is not None:
            current.stop()
        task = self.task
        waiting: set[asyncio.Future[Any]] = set()
        if task is not None and not task.done():
            waiting.add(task)
        elif current is not None:
            waiting.add(asyncio.ensure_future(current.finished.wait()))
        if waiting:
            # Bounded: a send Telegram never answers must not hold the shutdown.
            await asyncio.wait(waiting, timeout=CLOSE_PATIENCE + 5)

    # --- one unit of work per batch -----------------------------------------------------
    def claim_batch(self, db: Session, limit: int, own: list[str]) -> Batch:
        """Claim due rows, skip the ones no longer meaningful, render the rest."""
        now = self.runtime.clock.now()
        token = f"{self.worker}/{next(self._serial)}"[:64]
        claim = claims.claim(db, now=now, token=token, limit=limit,
                             lease_seconds=self.lease_seconds, own=own)
        if claim.released:
            log.info("%d messages put back in the queue: their sender's lease lapsed",
                     claim.released)
        if not claim.messages:
            return Batch(token, [], waiting=claims.due_waiting(db, now))
        _load_reminder_subjects(db, claim.messages)
        skipped: dict[int, str] = {}
        broken: list[Outcome] = []
        items: list[Outgoing] = []
        for message in claim.messages:
            recipient = claim.recipients.get(message.recipient_id or 0)
            try:
                item, reason = self._prepare(db, message, recipient, token, now)
            except Exception as error:  # a bug in a template or keyboard: this row only
                log.exception("outbox row %s could not be rendered", message.id)
                broken.append(Outcome(message.id, token, FAILED,
                                      error=f"render {type(error).__name__}"))
                continue
            if reason is not None:
                skipped[message.id] = reason
            elif item is not None:
                items.append(item)
        claims.mark_skipped(db, skipped)
        if broken:
            claims.record(db, broken, now=now, chat_pause=0.0)
        return Batch(token, items, claimed=len(claim.messages), skipped=len(skipped),
                     broken=len(broken))

    def _prepare(self, db: Session, message: OutboxMessage, recipient: Recipient | None,
                 token: str, now: datetime) -> tuple[Outgoing | None, str | None]:
        settings = self.runtime.settings
        if recipient is None and message.recipient_id is None and message.chat_id is not None:
            # A reply to someone not known yet (before consent): worded already.
            rendered = render(message, translator(settings.default_language, settings.timezone))
            return self._outgoing(message, token, message.chat_id, rendered), None
        # The most telling reason first: a plan done beats "too late" for an admin reading it.
        reason = (_recipient_gone(recipient) or reminders.stale_reason(db, message, now)
                  or _expired(message, now))
        if reason is not None:
            return None, reason
        assert recipient is not None and recipient.chat_id is not None
        rendered = render(message, translator(recipient.language, settings.timezone),
                          settings.default_language)
        return self._outgoing(message, token, recipient.chat_id, rendered), None

    @staticmethod
    def _outgoing(message: OutboxMessage, token: str, chat_id: int, rendered: Any) -> Outgoing:
        return Outgoing(message.id, token, message.priority or 0, chat_id,
                        message.recipient_id, rendered.text, rendered.reply_markup,
                        message.attempts or 0)


def _recipient_gone(recipient: Recipient | None) -> str | None:
    if recipient is None or recipient.erased or recipient.chat_id is None:
        return "no_recipient"
    if recipient.unreachable:
        return "unreachable"
    return None


def _expired(message: OutboxMessage, now: datetime) -> str | None:
    if message.expires_at is not None and message.expires_at <= now:
        return "expired"
    return None


def _load_reminder_subjects(db: Session, messages: list[OutboxMessage]) -> None:
    """Load what the reminders of a batch are about, a query per kind for the batch, so
    the planner's check of each one (``stale_reason``) finds them in the session."""
    bookings, milestones, enrolments, rules = set(), set(), set(), set()
    for message in messages:
        if message.rule_id is not None:
            rules.add(message.rule_id)
        kind, _, rest = (message.event_key or "").partition(":")
        number = rest.split(":", 1)[0]
        if not (number.isascii() and number.isdigit()):
            continue
        {"bk": bookings, "ms": milestones, "ci": enrolments}.get(kind, set()).add(int(number))
    if rules:
        db.scalars(select(ReminderRule).where(ReminderRule.id.in_(rules))).all()
    if bookings:
        db.scalars(select(Booking).where(Booking.id.in_(bookings))
                   .options(joinedload(Booking.info_session))).all()
    if milestones:
        loaded = db.scalars(select(PlanMilestone).where(PlanMilestone.id.in_(milestones))).all()
        enrolments |= {m.enrolment_id for m in loaded}
    if enrolments:
        db.scalars(select(Enrolment).where(Enrolment.id.in_(enrolments))).all()

