"""One run of the dispatcher: claimer, feeder and sends, recorder, lease keeper.

See scheduler/dispatcher.py for what a run does and why; this module is how.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError, InterfaceError, InternalError, OperationalError

from bot import metrics
from bot.logsafe import describe_error
from bot.services.messaging import claims
from bot.services.messaging.claims import FAILED, GONE, RELEASE, RETRY, SENT, Outcome
from bot.services.messaging.outbox import MAX_ATTEMPTS
from bot.transport.budget import Priority
from bot.transport.telegram_errors import (
    THROTTLES,
    Verdict,
    error_code,
    retry_after_seconds,
    verdict,
)

if TYPE_CHECKING:
    from scheduler.dispatcher import Dispatcher

log = logging.getLogger(__name__)

FIRST_BACKOFF = 5.0
MAX_BACKOFF = 3600.0
# A 429 asking for longer than this puts the row back in the queue instead of holding it.
LONGEST_HELD_WAIT = 30.0
# Pauses between tries while the database does not answer.
OUTAGE_PAUSES = (0.25, 0.5, 1.0, 2.0, 5.0)
# A lease is used only while this much of it is left: time for the send itself.
LEASE_MARGIN = 3.0
# On shutdown, how long to go on trying to record outcomes already known.
CLOSE_PATIENCE = 10.0


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    # Times Telegram asked to wait (the message was then sent, or put back).
    throttled: int = 0
    # Outcomes not recorded because the row was no longer this sender's.
    lost: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.skipped

    def add(self, other: DispatchReport) -> None:
        for name in ("sent", "retried", "failed", "skipped", "throttled", "lost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors


@dataclass
class Outgoing:
    """A claimed row, rendered, ready to send without touching the database."""

    id: int
    token: str
    priority: int
    chat_id: int
    recipient_id: int | None
    text: str
    reply_markup: Any
    attempts: int


@dataclass
class Batch:
    token: str
    items: list[Outgoing]
    # Due rows left unclaimed because their chat was busy.
    waiting: bool = False
    claimed: int = 0
    skipped: int = 0
    broken: int = 0


def is_outage(error: BaseException) -> bool:
    """The database is away (refused, gone, full, read-only), not a bug of ours."""
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or isinstance(
            error, OperationalError | InterfaceError | InternalError)
    return isinstance(error, OSError)


class Run:
    """One run of the pipeline: claimer, feeder and sends, recorder and lease keeper."""

    def __init__(self, dispatcher: Dispatcher, report: DispatchReport) -> None:
        self.d = dispatcher
        self.report = report
        self.runtime = dispatcher.runtime
        self.queue: list[tuple[int, int, Outgoing]] = []
        self._order = itertools.count()
        self.changed = asyncio.Condition()
        self.want_more = asyncio.Event()
        self.want_more.set()
        self.claiming_done = False
        self.stopping = False
        self.nudged = False
        self.claim_started = 0.0
        self.recorded_at_claim = 0
        self.in_flight = 0
        self.gone: set[int] = set()
        self.leases = Leases(dispatcher.lease_seconds)
        self.recorder = Recorder(self)
        self.finished = asyncio.Event()
        self.sending: set[asyncio.Task[None]] = set()
        # The row the feeder holds while it waits for a slot for it.
        self.feeding: Outgoing | None = None
        # Rows held ahead of sending: with the budget, about a second's worth (another
        # instance takes the rest meanwhile; a crash leaves little waiting on a lease).
        budget = dispatcher.budget
        ahead = dispatcher.batch_size if budget is None else max(4, int(budget.rate))
        self.batch = max(1, min(dispatcher.batch_size, ahead))
        self.low_water = max(1, self.batch // 2)

    def pause(self, seconds: float) -> Awaitable[None]:
        # Waits in real time through the runtime, so tests pass a pause that does not wait.
        return self.runtime.pause(seconds)

    def nudge(self) -> None:
        self.nudged = True
        self.want_more.set()

    def stop(self) -> None:
        self.stopping = True
        self.want_more.set()

    async def go(self) -> None:
        claimer = asyncio.create_task(self._claimer(), name="outbox-claimer")
        feeder = asyncio.create_task(self._feeder(), name="outbox-feeder")
        keeper = asyncio.create_task(self._keeper(), name="outbox-leases")
        try:
            await claimer
            await feeder
        finally:
            for task in (claimer, feeder, *self.sending):
                task.cancel()
            await asyncio.gather(claimer, feeder, *self.sending, return_exceptions=True)
            # Claimed but never sent (stopped or cancelled): back to the queue at once.
            held = [item for _p, _n, item in self.queue]
            if self.feeding is not None:
                held.append(self.feeding)
            unsent = [Outcome(item.id, item.token, RELEASE) for item in held]
            self.queue.clear()
            self.recorder.add(*unsent)
            # Outcomes already known are written even if this run is cancelled.
            await asyncio.shield(asyncio.ensure_future(self._wrap_up(keeper)))

    async def _wrap_up(self, keeper: asyncio.Task[None]) -> None:
        try:
            await self.recorder.drain(patience=CLOSE_PATIENCE)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            self.finished.set()

    # --- claiming -----------------------------------------------------------------------
    async def _claimer(self) -> None:
        try:
            while not self.stopping:
                await self.want_more.wait()
                self.want_more.clear()
                if self.stopping:
                    break
                if len(self.queue) > self.low_water and not self.nudged:
                    continue
                self.nudged = False
                batch = await self._claim()
                if batch is None:
                    break
                self._count_skips(batch)
                if batch.items:
                    self.leases.claimed(batch.token, [item.id for item in batch.items],
                                        self.claim_started)
                    for item in batch.items:
                        heapq.heappush(self.queue, (-item.priority, next(self._order), item))
                    async with self.changed:
                        self.changed.notify_all()
                    self.want_more.set()
                    continue
                if batch.claimed:
                    self.want_more.set()  # all skipped: look again
                    continue
                if not await self._settle(batch.waiting):
                    break
                self.want_more.set()
        finally:
            self.claiming_done = True
            async with self.changed:
                self.changed.notify_all()

    def _count_skips(self, batch: Batch) -> None:
        self.report.skipped += batch.skipped
        self.report.failed += batch.broken
        if batch.skipped:
            metrics.SENDS.labels("skipped").inc(batch.skipped)
        if batch.broken:
            metrics.SENDS.labels("failed").inc(batch.broken)

    async def _claim(self) -> Batch | None:
        """A batch, trying again while the database is away (None: stopped)."""
        outage: BaseException | None = None
        attempt = 0
        while not self.stopping:
            metrics.beat()
            self.claim_started = time.monotonic()
            self.recorded_at_claim = self.recorder.recorded
            own = self.leases.tokens()
            try:
                batch = await self.runtime.database.run(
                    lambda db, own=own: self.d.claim_batch(db, self.batch, own))
            except Exception as error:
                if not is_outage(error):
                    raise
                if outage is None:
                    log.warning("the outbox cannot be read (%s): sending waits for the "
                                "database", describe_error(error))
                outage = error
                await self.pause(OUTAGE_PAUSES[min(attempt, len(OUTAGE_PAUSES) - 1)])
                attempt += 1
                continue
            if outage is not None:
                log.warning("the database answers again: sending goes on")
            return batch
        return None

    async def _settle(self, waiting: bool) -> bool:
        """Nothing was claimable: let the sends under way finish and their outcomes be
        written, then say whether to claim again. Outcomes can queue messages (a coach
        hears that a person blocked the bot), and a chat this run just wrote to is free
        again after its pause; rows that wait for another sender are left to it."""
        async with self.changed:
            await self.changed.wait_for(lambda: not self.in_flight and not self.queue)
        await self.recorder.drain()
        if self.stopping:
            return False
        recent = self.recorder.last_recorded + self.d.chat_interval - time.monotonic()
        if self.recorder.recorded == self.recorded_at_claim and not (waiting and recent > 0):
            return False
        if waiting and recent > 0:
            await asyncio.sleep(recent + 0.01)
        return not self.stopping

    # --- sending ------------------------------------------------------------------------
    async def _take(self) -> Outgoing | None:
        async with self.changed:
            while not self.queue:
                if self.claiming_done or self.stopping:
                    return None
                await self.changed.wait()
            item = heapq.heappop(self.queue)[2]
            self.in_flight += 1
        if len(self.queue) <= self.low_water:
            self.want_more.set()
        return item

    async def _feeder(self) -> None:
        """Hand each row, most urgent first, to a send of its own once it has a slot."""
        budget = self.d.budget
        room = asyncio.Semaphore(self.d.concurrency)
        while True:
            await room.acquire()
            item = await self._take()
            if item is None:
                break
            self.feeding = item
            if budget is not None:
                await budget.acquire(Priority.REPLY if item.priority > 0 else Priority.BULK)
            self.feeding = None
            task = asyncio.create_task(self._send_one(item, room), name="outbox-send")
            self.sending.add(task)
            task.add_done_callback(self.sending.discard)
        if self.sending:
            await asyncio.gather(*self.sending)

    async def _send_one(self, item: Outgoing, room: asyncio.Semaphore) -> None:
        try:
            outcome = await self._send(item)
        finally:
            room.release()
            async with self.changed:
                self.in_flight -= 1
                self.changed.notify_all()
        if outcome is not None:
            self.recorder.add(outcome)

    async def _send(self, item: Outgoing) -> Outcome | None:
        """Send one row (its budget slot taken already); after a 429, wait as asked, take a
        new slot and send again."""
        budget = self.d.budget
        priority = Priority.REPLY if item.priority > 0 else Priority.BULK
        while True:
            await self.d.pacer.wait(item.chat_id)
            # Never send what could not be recorded afterwards.
            await self.recorder.writable.wait()
            if self.stopping:
                return Outcome(item.id, item.token, RELEASE)
            if item.recipient_id in self.gone:
                # Stopped with the 403 of another of their rows (cancelled when it is recorded).
                self.leases.forget(item)
                return None
            if self.leases.lost(item):
                return None  # cancelled, or taken over by another sender: not ours to send
            if not self.leases.usable(item):
                # Not renewed in time (the database was away): put back, never sent blind.
                return Outcome(item.id, item.token, RELEASE)
            try:
                extra = {"rate_limit_args": {"paced": True}} if budget is not None else {}
                sent = await self.d.bot.send_message(item.chat_id, item.text,
                                                     reply_markup=item.reply_markup, **extra)
            except Exception as error:
                outcome = await self._refused(item, error)
                if outcome is not None:
                    return outcome
                # Waited as Telegram asked: the same row again, with a new slot.
                if budget is not None:
                    await budget.acquire(priority)
                continue
            return Outcome(item.id, item.token, SENT, telegram_id=sent.message_id)

    async def _refused(self, item: Outgoing, error: Exception) -> Outcome | None:
        kind = verdict(error)
        code = error_code(error)
        now = self.runtime.clock.now()
        if kind is Verdict.THROTTLED:
            assert hasattr(error, "retry_after")
            wait = retry_after_seconds(error)  # type: ignore[arg-type]
            THROTTLES.note(wait)
            self.report.throttled += 1
            if wait > LONGEST_HELD_WAIT:
                return Outcome(item.id, item.token, RETRY, error=code,
                               due_at=now + timedelta(seconds=wait), counts_attempt=False)
            await self.pause(wait + random.uniform(0, 0.2))
            return None
        if kind is Verdict.GONE:
            if item.recipient_id is not None:
                self.gone.add(item.recipient_id)
            return Outcome(item.id, item.token, GONE, error=code,
                           recipient_id=item.recipient_id)
        if kind is Verdict.WRONG:
            return Outcome(item.id, item.token, FAILED, error=code)
        if kind is Verdict.TRANSIENT:
            return Outcome(item.id, item.token, RETRY, error=code,
                           due_at=now + backoff(item.attempts))
        log.error("sending outbox row %s failed: %s", item.id, describe_error(error),
                  exc_info=error)
        if item.attempts + 1 >= MAX_ATTEMPTS:
            return Outcome(item.id, item.token, FAILED, error=code)
        return Outcome(item.id, item.token, RETRY, error=code, due_at=now + backoff(item.attempts))

    # --- leases -------------------------------------------------------------------------
    async def _keeper(self) -> None:
        """Renew the leases of rows still held, a third of a lease at a time."""
        every = max(0.05, self.d.lease_seconds / 3)
        while True:
            await asyncio.sleep(every)
            tokens = self.leases.tokens()
            if not tokens:
                continue
            started = time.monotonic()
            try:
                _real, held = await self.runtime.database.run(
                    lambda db, tokens=tokens: claims.renew(db, tokens, self.d.lease_seconds))
            except Exception as error:
                if not is_outage(error):
                    raise
                continue  # the leases run out; senders stop sending before they do
            self.leases.renewed(tokens, held, started)


class Leases:
    """Which rows this run holds, and until when it may still send them (monotonic)."""

    def __init__(self, lease_seconds: float) -> None:
        self.lease_seconds = lease_seconds
        self._until: dict[str, float] = {}
        self._rows: dict[str, set[int]] = {}
        self._lost: set[int] = set()

    def claimed(self, token: str, ids: list[int], asked_at: float) -> None:
        self._until[token] = asked_at + self.lease_seconds
        self._rows[token] = set(ids)

    def lost(self, item: Outgoing) -> bool:
        return item.id in self._lost

    def forget(self, item: Outgoing) -> None:
        rows = self._rows.get(item.token)
        if rows is not None:
            rows.discard(item.id)

    def usable(self, item: Outgoing) -> bool:
        until = self._until.get(item.token, 0.0)
        margin = min(LEASE_MARGIN, self.lease_seconds / 3)
        return time.monotonic() < until - margin

    def tokens(self) -> list[str]:
        return [token for token, rows in self._rows.items() if rows]

    def renewed(self, tokens: list[str], held: set[int], asked_at: float) -> None:
        for token in tokens:
            rows = self._rows.get(token, set())
            lost = rows - held
            if lost:
                log.info("%d claimed messages are no longer this sender's (cancelled, or "
                         "taken over after the lease lapsed): not sent", len(lost))
                self._lost |= lost
                rows -= lost
            self._until[token] = asked_at + self.lease_seconds

    def done(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            rows = self._rows.get(outcome.token)
            if rows is not None:
                rows.discard(outcome.id)
                if not rows:
                    del self._rows[outcome.token]
                    self._until.pop(outcome.token, None)


class Recorder:
    """Writes outcomes a batch at a time; while it cannot, sending waits."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.pending: list[Outcome] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.recorded = 0
        self.last_recorded = 0.0
        self._task: asyncio.Task[None] | None = None
        self._give_up_at: float | None = None

    def add(self, *outcomes: Outcome) -> None:
        if not outcomes:
            return
        self.pending.extend(outcomes)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush(), name="outbox-recorder")

    async def drain(self, *, patience: float | None = None) -> None:
        """Wait until everything known is written (``patience``: give up after that long,
        on shutdown; the rows are then sent again once their lease lapses)."""
        if patience is not None:
            self._give_up_at = time.monotonic() + patience
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _flush(self) -> None:
        run = self.run
        dispatcher = run.d
        failures = 0
        while self.pending:
            batch = self.pending[:]
            now = run.runtime.clock.now()
            try:
                result = await run.runtime.database.run(
                    lambda db, batch=batch, now=now: claims.record(
                        db, batch, now=now, chat_pause=dispatcher.chat_interval))
            except Exception as error:
                # Whatever the cause, nothing more is sent until these are written: a
                # message sent but not recorded would go out again.
                if failures == 0 and not is_outage(error):
                    log.exception("recording %d outcomes failed", len(batch))
                if failures == 0:
                    log.warning("%d outcomes cannot be recorded (%s): sending stops until the "
                                "database answers", len(batch), describe_error(error))
                self.writable.clear()
                if self._give_up_at is not None and time.monotonic() >= self._give_up_at:
                    log.error("%d outcomes were not recorded before shutdown: those messages "
                              "go out again once their lease lapses", len(self.pending))
                    self.pending.clear()
                    break
                await run.pause(OUTAGE_PAUSES[min(failures, len(OUTAGE_PAUSES) - 1)])
                failures += 1
                continue
            if failures:
                log.warning("the database answers again: %d outcomes recorded, sending goes "
                            "on", len(batch))
            failures = 0
            del self.pending[:len(batch)]
            self.writable.set()
            self.recorded += len(result.recorded)
            self.last_recorded = time.monotonic()
            run.leases.done(batch)
            self._count(batch, result)
        self.writable.set()

    def _count(self, batch: list[Outcome], result: claims.Recorded) -> None:
        report = self.run.report
        for outcome in batch:
            if outcome.id not in result.recorded or outcome.kind == RELEASE:
                continue
            if outcome.kind == SENT:
                report.sent += 1
                metrics.SENDS.labels("sent").inc()
            elif outcome.kind == RETRY:
                report.retried += 1
                metrics.SENDS.labels("retry").inc()
            else:
                report.failed += 1
                report.errors.append(outcome.error or "")
                metrics.SENDS.labels("blocked" if outcome.kind == GONE else "failed").inc()
        lost = {row: why for row, why in result.lost.items()}
        if lost:
            report.lost += len(lost)
            reasons: dict[str, int] = {}
            for why in lost.values():
                reasons[why] = reasons.get(why, 0) + 1
            log.warning("%d outcomes not recorded, the rows were no longer this sender's "
                        "(%s)", len(lost),
                        ", ".join(f"{count} {why}" for why, count in sorted(reasons.items())))
        if result.unreachable:
            log.info("%d people blocked the bot: their other messages are stopped",
                     len(result.unreachable))


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … up to an hour, each ±20 % so that retries do not come in waves."""
    seconds = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** attempts)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))
