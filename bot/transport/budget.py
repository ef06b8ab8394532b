"""One sending budget for the whole bot: 30 messages a second, replies first.

Telegram allows a bot about 30 messages a second overall. Every message waits here for
a slot; slots come from a schedule (``LocalSlots`` in this process, or ``SharedSlots``
in the database when several instances share one bot), a few at a time, and each slot
goes to the most urgent message waiting at that moment: a reply to someone in the chat
before a reminder of a bulk run, which therefore yields to them.

When Telegram asks to wait (429), the schedule is held off for that long, for every
instance. The budget runs a little below Telegram's limit, so that network jitter does
not make two seconds' messages land in one; a process held up for a moment catches up on
the slots it missed, but never gives more than the rate's worth in any rolling second.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import Protocol

from bot.db import DatabaseRunner
from bot.logsafe import describe_error

log = logging.getLogger(__name__)

# Telegram's limit, and the budget's rate under it (≈ 0.967 of the limit).
TELEGRAM_PER_SECOND = 30
DEFAULT_RATE = 29.0
# Telegram counts messages in a rolling second.
WINDOW = 1.0


class Priority(IntEnum):
    BULK = 0  # reminders and notices from the outbox
    REPLY = 1  # an answer to someone in the chat right now


class SlotSource(Protocol):
    rate: float
    # How late a slot may still be used: a process held up for a moment catches up on
    # the slots it missed (never more than the rate in a rolling second).
    late_tolerance: float

    async def reserve(self, count: int) -> list[float]:
        """``count`` consecutive slots, as times on this process's monotonic clock."""

    async def hold_off(self, seconds: float) -> None:
        """No slot before ``seconds`` from now."""


class LocalSlots:
    """The schedule of a single instance (SQLite: one instance per database)."""

    # Alone, this process may catch up on what it missed in the last rolling second: its
    # own count of that second (SendBudget) keeps it within the rate.
    late_tolerance = WINDOW

    def __init__(self, rate: float = DEFAULT_RATE, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._next = 0.0

    async def reserve(self, count: int) -> list[float]:
        interval = 1.0 / self.rate
        now = self.clock()
        # Behind by less than a second: the schedule goes on where it was (catching up);
        # idle for longer: it starts now, one interval at a time, without a burst.
        start = self._next if self._next >= now - WINDOW else now
        self._next = start + count * interval
        return [start + n * interval for n in range(count)]

    async def hold_off(self, seconds: float) -> None:
        self._next = max(self._next, self.clock() + seconds)


class SharedSlots:
    """The schedule kept in the database, so instances sharing it share the budget.

    If the database cannot be reached, this instance paces itself alone until it can
    (it then sends little anyway: without the database nothing new is decided)."""

    def __init__(self, database: DatabaseRunner, rate: float = DEFAULT_RATE, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        # Shared, a slot used late would crowd another instance's next ones: barely any.
        self.late_tolerance = 1.0 / rate
        self.database = database
        self.clock = clock
        self._alone = LocalSlots(rate, clock=clock)
        self._failing = False

    async def reserve(self, count: int) -> list[float]:
        from bot.services.messaging import send_budget

        interval = 1.0 / self.rate
        asked = self.clock()
        try:
            first, real = await self.database.run(
                lambda db: send_budget.reserve(db, count, interval))
        except Exception as error:
            self._failed(error)
            return await self._alone.reserve(count)
        self._recovered()
        # The database's real time mapped onto this process's clock: the reservation was
        # made about half-way through the round trip.
        offset = (asked + self.clock()) / 2 - real
        return [first + offset + n * interval for n in range(count)]

    async def hold_off(self, seconds: float) -> None:
        from bot.services.messaging import send_budget

        await self._alone.hold_off(seconds)
        try:
            await self.database.run(lambda db: send_budget.hold_off(db, seconds))
        except Exception as error:
            self._failed(error)

    def _failed(self, error: Exception) -> None:
        if not self._failing:
            log.warning("the shared sending budget is out of reach (%s): this instance "
                        "paces itself alone until the database answers", describe_error(error))
        self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            log.info("the shared sending budget is back")
        self._failing = False


class SendBudget:
    """Hands out slots one message at a time, the most urgent waiting message first."""

    def __init__(self, slots: SlotSource, *, chunk_seconds: float = 0.2,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.slots = slots
        self.clock = clock
        self.sleep = sleep
        # Slots reserved at once: few enough that another instance's reply does not
        # wait long behind them, enough to keep database round trips rare.
        self.chunk = max(1, int(slots.rate * chunk_seconds))
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._ahead: deque[float] = deque()
        self._pump: asyncio.Task[None] | None = None
        # When the last slots were given, for the rolling-second check.
        self._given: deque[float] = deque()
        self._per_window = max(1, round(slots.rate * WINDOW))

    @property
    def rate(self) -> float:
        return self.slots.rate

    async def acquire(self, priority: Priority = Priority.REPLY) -> None:
        """Wait for this message's slot."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (-int(priority), next(self._order), future))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._hand_out(), name="send-budget")
        await future  # a cancelled wait leaves its entry behind; the pump skips it

    async def hold_off(self, seconds: float) -> None:
        """Telegram asked to wait (429): nobody sends before ``seconds`` from now."""
        until = self.clock() + seconds
        await self.slots.hold_off(seconds)
        while self._ahead and self._ahead[0] < until:
            self._ahead.popleft()

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)

    async def _hand_out(self) -> None:
        while self._pending():
            if not self._ahead:
                self._ahead.extend(await self.slots.reserve(min(self._pending(), self.chunk)))
                continue
            slot = self._ahead.popleft()
            delay = slot - self.clock()
            if delay < -self.slots.late_tolerance:
                continue  # this process was held up: a slot that long gone is not caught up
            if delay > 0:
                await self.sleep(delay)
            # A slot this process was late for may be caught up on, but never more than the
            # rate's worth in any rolling second (what Telegram counts).
            while True:
                now = self.clock()
                while self._given and self._given[0] <= now - WINDOW:
                    self._given.popleft()
                if len(self._given) < self._per_window:
                    break
                await self.sleep(self._given[0] + WINDOW - now)
            if self._give_slot():
                self._given.append(self.clock())

    def _pending(self) -> int:
        while self._waiting and self._waiting[0][2].done():
            heapq.heappop(self._waiting)
        return sum(1 for _p, _n, future in self._waiting if not future.done())

    def _give_slot(self) -> bool:
        while self._waiting:
            _priority, _order, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return True
        return False


def budget_of(bot: object) -> SendBudget | None:
    """The budget behind a bot's rate limiter (None: the bot sends unpaced)."""
    return getattr(getattr(bot, "rate_limiter", None), "budget", None)
