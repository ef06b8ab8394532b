"""The bot's one sending budget: its pace, replies first, 429s held off for everyone, shared
through the database by several instances."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import time
from datetime import datetime
from typing import Any

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.clock import ManualClock
from bot.db import make_engine, make_session_factory, unit_of_work
from bot.emulator import BotApiEmulator, EmulatorRequest, Fault, RollingLimit
from bot.emulator.server import serve
from bot.runtime import Runtime
from bot.services.messaging import send_budget
from bot.transport.aiohttp_request import AiohttpRequest
from bot.transport.budget import LocalSlots, Priority, SendBudget, SharedSlots
from bot.transport.deliver import deliver
from bot.transport.ratelimit import BudgetRateLimiter
from bot.transport.replies import Replies, Text
from scheduler.dispatcher import Dispatcher
from tests.conftest import make_settings
from tests.test_dispatcher import _people, _queue


class VirtualTime:
    """Time that passes only when the budget waits: no test waits in real time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)  # whoever got the last slot runs at its own moment
        self.now += seconds


def _budget(rate: float, time: VirtualTime) -> SendBudget:
    return SendBudget(LocalSlots(rate, clock=time.clock), clock=time.clock, sleep=time.sleep)


async def test_the_budget_keeps_its_pace():
    virtual = VirtualTime()
    budget = _budget(10, virtual)
    granted: list[float] = []

    async def send() -> None:
        await budget.acquire(Priority.BULK)
        granted.append(virtual.now)

    await asyncio.gather(*(send() for _ in range(25)))
    gaps = [b - a for a, b in itertools.pairwise(granted)]
    assert min(gaps) >= 0.1 - 1e-9
    assert granted[-1] - granted[0] == pytest.approx(2.4)


async def test_a_held_up_process_catches_up_but_never_overflows_a_rolling_second():
    virtual = VirtualTime()
    budget = _budget(10, virtual)
    stall = {"at": virtual.now + 1.0, "for": 0.45}
    pace = virtual.sleep

    async def sleep(seconds: float) -> None:
        await pace(seconds)
        if virtual.now >= stall["at"] and stall["for"]:
            virtual.now += stall["for"]  # the process was held up (the machine was busy)
            stall["for"] = 0

    budget.sleep = sleep
    granted: list[float] = []

    async def send() -> None:
        await budget.acquire(Priority.BULK)
        granted.append(virtual.now)

    await asyncio.gather(*(send() for _ in range(30)))
    in_any_second = max(sum(1 for t in granted if s - 1 < t <= s) for s in granted)
    assert in_any_second <= 10
    # Slots missed while held up were caught up on, not lost: 30 messages in about 2.9 s.
    assert granted[-1] - granted[0] < 2.9 + 0.45 - 0.2


async def test_a_reply_goes_before_a_bulk_run():
    virtual = VirtualTime()
    budget = _budget(10, virtual)
    order: list[str] = []

    async def send(name: str, priority: Priority) -> None:
        await budget.acquire(priority)
        order.append(name)

    bulk = [asyncio.create_task(send(f"bulk{n}", Priority.BULK)) for n in range(30)]
    while len(order) < 5:
        await asyncio.sleep(0)
    asked_at = virtual.now
    await send("reply", Priority.REPLY)
    replied_at = virtual.now
    await asyncio.gather(*bulk)
    # The reply took the next slots but a few reserved ahead: well before the run ended.
    assert order.index("reply") <= 5 + budget.chunk
    assert replied_at - asked_at <= (budget.chunk + 1) * 0.1 + 1e-9


async def test_telegram_asking_to_wait_holds_everyone_off():
    virtual = VirtualTime()
    budget = _budget(10, virtual)
    await budget.acquire()
    await budget.hold_off(5)
    held_at = virtual.now
    await budget.acquire()
    assert virtual.now - held_at >= 5


def test_instances_reserve_slots_in_turn_in_the_database(sessions):
    """Two instances' reservations never overlap: together they keep one rate."""
    interval = 1 / 30
    taken: list[tuple[float, int]] = []
    for count in (5, 3, 5, 1, 4):
        with unit_of_work(sessions) as db:
            first, _now = send_budget.reserve(db, count, interval)
            taken.append((first, count))
    slots = sorted(first + n * interval for first, count in taken for n in range(count))
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert len(slots) == 18 and min(gaps) >= interval - 1e-6
    with unit_of_work(sessions) as db:
        until = send_budget.hold_off(db, 3.0)
        first, now = send_budget.reserve(db, 1, interval)
    assert first >= until and until - now == pytest.approx(3.0, abs=0.5)


async def test_a_reply_during_a_reminder_run_goes_first(sessions, clock, database_url):
    """A person in the chat does not wait behind a bulk run: their reply takes the next
    slot of the budget while a run of 80 reminders is sending."""
    people = _people(sessions, clock, 81)
    person, others = people[0], people[1:]
    _queue(sessions, clock, others)
    emulator = BotApiEmulator()
    for each in people:
        emulator.add_user(each.display_name or "?", "en", user_id=each.chat_id)
    runtime = Runtime(settings=make_settings(database_url), clock=clock, sessions=sessions)
    budget = SendBudget(LocalSlots(200.0))
    bot = ExtBot(emulator.token, request=EmulatorRequest(emulator),
                 rate_limiter=BudgetRateLimiter(budget))
    await bot.initialize()
    try:
        dispatcher = Dispatcher(bot, runtime, chat_interval=0)
        run = asyncio.create_task(dispatcher.run())
        while len(emulator.calls) < 20:
            await asyncio.sleep(0.005)
        asked = len([c for c in emulator.calls if c.method == "sendMessage"])
        replies = Replies(chat_id=person.chat_id, person_id=person.id)
        replies.add(Text("Your answer"))
        await deliver(bot, runtime, replies)
        report = await run
    finally:
        await bot.shutdown()
    sends = [c for c in emulator.calls if c.method == "sendMessage"]
    position = next(n for n, c in enumerate(sends) if c.params["chat_id"] == person.chat_id)
    assert report.sent == 80
    assert position <= asked + budget.chunk + 2  # not behind the rest of the run


def _instance(database_url: str, api_url: str, token: str, now: str, name: str,
              start: Any, results: Any) -> None:
    """One bot instance in a process of its own: a dispatcher with the shared budget."""
    async def go() -> None:
        engine = make_engine(database_url)
        runtime = Runtime(settings=make_settings(database_url),
                          clock=ManualClock(datetime.fromisoformat(now)),
                          sessions=make_session_factory(engine))
        budget = SendBudget(SharedSlots(runtime.database, SHARED_RATE))
        bot = ExtBot(token, base_url=f"{api_url}/bot", request=AiohttpRequest(),
                     rate_limiter=BudgetRateLimiter(budget))
        await bot.initialize()
        try:
            dispatcher = Dispatcher(bot, runtime, worker=name, batch_size=10,
                                    chat_interval=0)
            start.wait(60)  # both instances ready before either begins
            report = await dispatcher.run()
            results.put((name, report.sent, report.throttled))
        finally:
            await bot.shutdown()
            runtime.database.shutdown()
            engine.dispose()

    asyncio.run(go())


# Telegram's 30 a second, scaled down to keep the test short; the budget a little under.
SHARED_LIMIT = 20
SHARED_RATE = 19.0


@pytest.mark.postgres
async def test_two_instances_keep_one_shared_budget(sessions, clock, database_url):
    """Two bot processes on one PostgreSQL database send through one Telegram (the
    emulator over HTTP, refusing more than 20 messages in any rolling second) at the
    bot's one rate together: Telegram never has to refuse."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share a PostgreSQL database")
    people = _people(sessions, clock, 60)
    _queue(sessions, clock, people)
    emulator = BotApiEmulator()
    emulator.rate_limit = RollingLimit(per_second=SHARED_LIMIT)
    for each in people:
        emulator.add_user("P", "en", user_id=each.chat_id)
    runner, port = await serve(emulator, shutdown_timeout=1)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = context.Barrier(2)
    processes = [context.Process(target=_instance, args=(
        database_url, f"http://127.0.0.1:{port}", emulator.token, clock.now().isoformat(),
        f"instance-{n}", start, results), daemon=True) for n in range(2)]
    try:
        for process in processes:
            process.start()
        outcomes = [await asyncio.to_thread(results.get, True, 120) for _ in processes]
        for process in processes:
            await asyncio.to_thread(process.join, 30)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
        await runner.cleanup()
    assert sum(sent for _name, sent, _throttled in outcomes) == 60
    assert all(sent > 0 for _name, sent, _throttled in outcomes)  # both took part
    sends = sorted(c.at for c in emulator.calls
                   if c.method == "sendMessage" and c.status == 200)
    # Together at the one rate: 60 messages take about 60/19 s, not half of that.
    assert sends[-1] - sends[0] >= 59 / SHARED_RATE * 0.9
    assert emulator.rate_limit.refused == 0 and emulator.rate_limit.peak <= SHARED_LIMIT


async def test_a_429_through_the_rate_limiter_holds_the_budget_off():
    emulator = BotApiEmulator()
    user = emulator.add_user("Amina", "ar")
    slots = LocalSlots(1000.0)
    bot = ExtBot(emulator.token, request=EmulatorRequest(emulator),
                 rate_limiter=BudgetRateLimiter(SendBudget(slots)))
    await bot.initialize()
    try:
        emulator.inject(Fault("429", retry_after=7))
        before = time.monotonic()
        with pytest.raises(RetryAfter):
            await bot.send_message(user["id"], "hello")
        # Every sender waits now (the next slot is seven seconds on), not only this one.
        [next_slot] = await slots.reserve(1)
        assert next_slot - before >= 7
    finally:
        await bot.shutdown()
