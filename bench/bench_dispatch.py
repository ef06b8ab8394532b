"""Benchmark: the outbox dispatcher against the emulated Bot API over HTTP.

The emulated Bot API runs as a separate process on 127.0.0.1 (as Telegram would be far
away); the bot sends through its own HTTP client. Each part measures its baseline in
the same run:

1. **raw**: ``--count`` due reminders with the rate limiter off, through the aiohttp
   request class (the bot's), then through python-telegram-bot's default HTTPX request
   (the baseline): sends per second, the ratio, and what bounds it (CPU of the bot and
   of the emulator, share of the time the database was busy);
2. **limited**: ``--limited-count`` reminders with the bot's budget, against an emulator
   that enforces Telegram's 30 messages in any rolling second (more are answered 429):
   the achieved rate as a ratio of 30, the share of 429s, and, for a person writing to
   the bot every ``--reply-every`` seconds during the run, their replies' p50/p99
   latency;
3. **two instances** (PostgreSQL only): two processes share the budget through the
   database, against the same emulator: the combined rate as a ratio of 30, and 429s;
4. **crash**: ``jobbot run`` sending a queue is killed with SIGKILL; a restarted
   ``jobbot run`` sends what the killed one held once its lease lapses: the time from the
   kill to the last of those sent, and the duplicates (at most the messages in flight).

    .venv/bin/python bench/bench_dispatch.py                     # everything, SQLite (~9 min)
    .venv/bin/python bench/bench_dispatch.py --limited-count 1500 --count 3000   # quicker
    .venv/bin/python bench/bench_dispatch.py --only raw          # raw, limited, two, crash
    # PostgreSQL, with two instances (~16 min), on a database of its own (it is emptied):
    .venv/bin/python bench/bench_dispatch.py --database-url postgresql+psycopg://.../jobbot_bench

A fresh database is used for each part (a temporary SQLite file unless a URL is given; a
PostgreSQL database named by the URL is emptied first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select
from telegram.request import HTTPXRequest

from bench.databases import fresh_database
from bot.app import OVERALL_PER_SECOND, build_application
from bot.clock import ManualClock
from bot.db import make_engine, make_session_factory
from bot.emulator import BotApiEmulator
from bot.emulator.server import serve
from bot.i18n import LANGUAGES, encode_param
from bot.models import Audience, EventKind, OutboxMessage, OutboxStatus, Person
from bot.runtime import Runtime
from bot.services.messaging.claims import LEASE_SECONDS
from bot.services.reminders.planner import default_text
from bot.settings import Settings
from bot.transport.deliver import deliver
from bot.transport.replies import Replies, Text
from scheduler.dispatcher import Dispatcher

ROOT = Path(__file__).resolve().parents[1]
FIRST_USER = 8_000_000


# --- the emulated Bot API in a process of its own ----------------------------------------
def _emulator_process(count: int, ready: Any) -> None:
    """The emulated Bot API with ``count`` users, until terminated."""
    async def run() -> None:
        emulator = BotApiEmulator()
        languages = list(LANGUAGES)
        for n in range(count + 10):
            emulator.add_user(f"Aspirant{n}", languages[n % len(languages)],
                              user_id=FIRST_USER + n)
        _runner, port = await serve(emulator)
        ready.put((port, emulator.token))
        await asyncio.Event().wait()

    logging.getLogger("aiohttp").setLevel(logging.ERROR)
    asyncio.run(run())


class EmulatorProcess:
    def __init__(self, users: int) -> None:
        context = multiprocessing.get_context("spawn")
        ready = context.Queue()
        self.process = context.Process(target=_emulator_process, args=(users, ready),
                                       daemon=True)
        self.process.start()
        self.port, self.token = ready.get(timeout=120)
        self.url = f"http://127.0.0.1:{self.port}"

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = Request(f"{self.url}/_emulator/{path}", data=data,
                          headers={"Content-Type": "application/json"})
        with urlopen(request, timeout=120) as answer:
            return json.load(answer)

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.process.pid)

    def delivered(self) -> dict[int, int]:
        """Messages per chat."""
        return {chat["user"]["id"]: chat["messages"] for chat in self.control("chats")}

    def stop(self) -> None:
        self.process.terminate()
        self.process.join()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), 0 where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- data -------------------------------------------------------------------------------
def _queue(url: str, count: int, now: datetime) -> None:
    """``count`` aspirants, each with one due "day before" session reminder (with buttons),
    in six languages."""
    languages = list(LANGUAGES)
    engine = make_engine(url)
    people = [{"id": n + 1, "telegram_user_id": FIRST_USER + n, "chat_id": FIRST_USER + n,
               "display_name": f"Aspirant{n}", "language": languages[n % len(languages)],
               "created_at": now, "consent_at": now} for n in range(count)]
    template = default_text(EventKind.INFO_SESSION, Audience.ASPIRANT, "before")
    session_day = (now + timedelta(days=1)).date()
    rows = [{
        "recipient_id": n + 1, "kind": "reminder.info_session", "template": template,
        "params": {"date": encode_param(session_day), "time": {"time": "10:00:00"},
                   "place": "Kistagången 2, 164 40 Kista", "booking_id": n + 1},
        "due_at": now - timedelta(minutes=1), "expires_at": now + timedelta(days=1),
        "status": OutboxStatus.PENDING, "attempts": 0, "created_at": now,
    } for n in range(count)]
    with engine.begin() as connection:
        for start in range(0, count, 1000):
            connection.execute(insert(Person), people[start:start + 1000])
            connection.execute(insert(OutboxMessage), rows[start:start + 1000])
    engine.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        result = {status.value: n for status, n in connection.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))}
    engine.dispose()
    return result


class TimedDatabase:
    """Adds up the time the database worker threads spend in units of work, commit
    included (the database's share of a run; above 100 % means several at once)."""

    def __init__(self, runtime: Runtime) -> None:
        self.busy = 0.0
        database = runtime.database
        # A unit alone (PostgreSQL), or a group of them committed together (SQLite).
        for name in ("_unit", "_commit_group"):
            setattr(database, name, self._timed(getattr(database, name)))

    def _timed(self, inner: Any) -> Any:
        def timed(work: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(work)
            finally:
                self.busy += time.perf_counter() - started

        return timed


async def _dispatch_once(emulator: EmulatorProcess, url: str, now: datetime, *,
                         rate_limit: bool, request: Any = None,
                         replies_every: float | None = None, reply_chats: int = 1
                         ) -> dict[str, Any]:
    settings = Settings(_env_file=None, database_url=url,  # type: ignore[call-arg]
                        telegram_token=emulator.token, telegram_api_url=emulator.url)
    engine = make_engine(url)
    runtime = Runtime(settings=settings, clock=ManualClock(now),
                      sessions=make_session_factory(engine))
    timed = TimedDatabase(runtime)
    application = build_application(settings, runtime=runtime, rate_limit=rate_limit,
                                    request=request, start_scheduler=False)
    await application.initialize()
    dispatcher = Dispatcher(application.bot, runtime)
    latencies: list[float] = []
    try:
        cpu, emulator_cpu = time.process_time(), emulator.cpu_seconds()
        started = time.perf_counter()
        run = asyncio.create_task(dispatcher.run())
        if replies_every:
            while not run.done():
                await asyncio.sleep(replies_every)
                if run.done():
                    break
                chat = FIRST_USER + random.randrange(reply_chats)
                replies = Replies(chat_id=chat, person_id=None)
                replies.add(Text("Thanks, noted."))
                asked = time.perf_counter()
                await deliver(application.bot, runtime, replies)
                latencies.append(time.perf_counter() - asked)
        report = await run
        elapsed = time.perf_counter() - started
        cpu, emulator_cpu = time.process_time() - cpu, emulator.cpu_seconds() - emulator_cpu
    finally:
        await application.shutdown()
        engine.dispose()
    return {"sent": report.sent, "elapsed": elapsed, "report": report, "cpu": cpu / elapsed,
            "emulator_cpu": emulator_cpu / elapsed, "db": timed.busy / elapsed,
            "latencies": latencies}


# --- 1. raw -----------------------------------------------------------------------------
async def raw(args: argparse.Namespace, workdir: Path) -> None:
    now = datetime.now(UTC)
    results = {}
    for number, (name, request) in enumerate((
            ("aiohttp (the bot's)", None),
            ("HTTPX (python-telegram-bot's default)", HTTPXRequest(connection_pool_size=64)))):
        emulator = EmulatorProcess(args.count)
        try:
            url = fresh_database(args.database_url, workdir, f"raw{number}")
            _queue(url, args.count, now)
            result = await _dispatch_once(emulator, url, now, rate_limit=False, request=request)
            delivered = sum(emulator.delivered().values())
        finally:
            emulator.stop()
        if result["sent"] != args.count or delivered != args.count:
            raise SystemExit(f"raw: expected {args.count}, sent {result['sent']}, delivered "
                             f"{delivered}")
        rate = result["sent"] / result["elapsed"]
        results[name] = rate
        print(f"  raw, {name}: {result['sent']} sent in {result['elapsed']:.1f} s = "
              f"{rate:.0f} msg/s; bot CPU {result['cpu']:.0%} of a core, emulator CPU "
              f"{result['emulator_cpu']:.0%}, database busy {result['db']:.0%} of the time")
    aiohttp_rate, httpx_rate = results.values()
    print(f"  raw: aiohttp / HTTPX = {aiohttp_rate / httpx_rate:.2f}")


# --- 2. limited -------------------------------------------------------------------------
async def limited(args: argparse.Namespace, workdir: Path) -> None:
    now = datetime.now(UTC)
    emulator = EmulatorProcess(args.limited_count)
    try:
        emulator.control("limit", {"per_second": OVERALL_PER_SECOND, "window": 1.0,
                                   "retry_after": 1})
        url = fresh_database(args.database_url, workdir, "limited")
        _queue(url, args.limited_count, now)
        result = await _dispatch_once(emulator, url, now, rate_limit=True,
                                      replies_every=args.reply_every,
                                      reply_chats=args.limited_count)
        stats = emulator.control("stats")
        delivered = emulator.delivered()
    finally:
        emulator.stop()
    limit = stats["limit"]
    tries = limit["accepted"] + limit["refused"]
    replies = len(result["latencies"])
    rate = (result["sent"] + replies) / result["elapsed"]
    print(f"  limited, one instance: {result['sent']} reminders and {replies} replies sent in "
          f"{result['elapsed']:.1f} s = {rate:.2f} msg/s = {rate / OVERALL_PER_SECOND:.3f} of "
          f"Telegram's {OVERALL_PER_SECOND}/s; 429s {limit['refused']} of {tries} sends "
          f"({limit['refused'] / max(1, tries):.2%}); most in one rolling second "
          f"{limit['peak']}")
    missing = sum(1 for n in range(args.limited_count) if delivered.get(FIRST_USER + n, 0) < 1)
    if result["sent"] != args.limited_count or missing:
        raise SystemExit(f"limited: {missing} reminders missing")
    latencies = sorted(result["latencies"])
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"  a person's replies during the run: {len(latencies)} replies, p50 "
              f"{statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
              f"max {latencies[-1] * 1000:.0f} ms (the run's own messages: one every "
              f"{1000 / rate:.0f} ms)")


# --- 3. two instances -------------------------------------------------------------------
def _instance_process(url: str, port: int, token: str, now: datetime, start_at: float,
                      results: Any, name: str) -> None:
    async def run() -> None:
        settings = Settings(_env_file=None, database_url=url,  # type: ignore[call-arg]
                            telegram_token=token, telegram_api_url=f"http://127.0.0.1:{port}")
        engine = make_engine(url)
        runtime = Runtime(settings=settings, clock=ManualClock(now),
                          sessions=make_session_factory(engine))
        application = build_application(settings, runtime=runtime, start_scheduler=False)
        await application.initialize()
        try:
            await asyncio.sleep(max(0.0, start_at - time.time()))
            started = time.perf_counter()
            report = await Dispatcher(application.bot, runtime, worker=name).run()
            results.put((name, report.sent, time.perf_counter() - started))
        finally:
            await application.shutdown()
            engine.dispose()

    asyncio.run(run())


def two_instances(args: argparse.Namespace, workdir: Path) -> None:
    if not args.database_url or not args.database_url.startswith("postgresql"):
        print("  two instances: skipped (several instances share PostgreSQL: give "
              "--database-url postgresql+psycopg://...)")
        return
    now = datetime.now(UTC)
    count = args.limited_count
    emulator = EmulatorProcess(count)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    try:
        emulator.control("limit", {"per_second": OVERALL_PER_SECOND, "window": 1.0,
                                   "retry_after": 1})
        url = fresh_database(args.database_url, workdir, "two")
        _queue(url, count, now)
        start_at = time.time() + 8
        processes = [context.Process(target=_instance_process, args=(
            url, emulator.port, emulator.token, now, start_at, results, f"instance-{n}"))
            for n in range(2)]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=count) for _ in processes]
        for process in processes:
            process.join()
        stats = emulator.control("stats")
    finally:
        emulator.stop()
    sent = sum(n for _name, n, _elapsed in outcomes)
    elapsed = max(seconds for _name, _n, seconds in outcomes)
    limit = stats["limit"]
    tries = limit["accepted"] + limit["refused"]
    shares = ", ".join(f"{name} {n}" for name, n, _ in sorted(outcomes))
    print(f"  limited, two instances sharing the budget: {sent} sent ({shares}) in "
          f"{elapsed:.1f} s = {sent / elapsed:.2f} msg/s = "
          f"{sent / elapsed / OVERALL_PER_SECOND:.3f} of {OVERALL_PER_SECOND}/s; 429s "
          f"{limit['refused']} of {tries} ({limit['refused'] / max(1, tries):.2%})")
    if sent != count:
        raise SystemExit(f"two instances: sent {sent} of {count}")


# --- 4. crash ---------------------------------------------------------------------------
def _start_bot(emulator: EmulatorProcess, url: str, log: Path) -> Any:
    import subprocess

    env = {key: value for key, value in os.environ.items() if not key.startswith("JOBBOT_")}
    env.update({"JOBBOT_TELEGRAM_TOKEN": emulator.token, "JOBBOT_TELEGRAM_API_URL": emulator.url,
                "JOBBOT_DATABASE_URL": url, "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(ROOT)})
    with log.open("ab") as output:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=log.parent,
                                env=env, stdin=subprocess.DEVNULL, stdout=output,
                                stderr=output)


def _held(url: str) -> set[int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        held = set(connection.scalars(select(OutboxMessage.id).where(
            OutboxMessage.status == OutboxStatus.SENDING)))
    engine.dispose()
    return held


def _sent(url: str, ids: set[int]) -> set[int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        sent = set(connection.scalars(select(OutboxMessage.id).where(
            OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.SENT)))
    engine.dispose()
    return sent


def crash(args: argparse.Namespace, workdir: Path) -> None:
    now = datetime.now(UTC)
    count = args.crash_count
    emulator = EmulatorProcess(count)
    log = workdir / "bot.log"
    try:
        url = fresh_database(args.database_url, workdir, "crash")
        _queue(url, count, now)
        first = _start_bot(emulator, url, log)
        deadline = time.monotonic() + 120
        while sum(emulator.delivered().values()) < min(200, count // 4):
            if time.monotonic() > deadline or first.poll() is not None:
                raise SystemExit(f"crash: the bot did not send; its log:\n{log.read_text()}")
            time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait()
        held = _held(url)
        delivered_at_kill = sum(emulator.delivered().values())
        second = _start_bot(emulator, url, log)
        try:
            while _sent(url, held) != held:
                if time.monotonic() - killed_at > 120 or second.poll() is not None:
                    raise SystemExit(f"crash: the killed bot's rows were not sent again; "
                                     f"log:\n{log.read_text()}")
                time.sleep(0.1)
            recovered = time.monotonic() - killed_at
            while _counts(url).get("sent", 0) < count:
                if time.monotonic() - killed_at > count:
                    raise SystemExit("crash: the queue was not finished")
                time.sleep(0.5)
        finally:
            second.send_signal(signal.SIGINT)
            second.wait(timeout=60)
        delivered = emulator.delivered()
    finally:
        emulator.stop()
    twice = sum(1 for n in range(count) if delivered.get(FIRST_USER + n, 0) > 1)
    missing = sum(1 for n in range(count) if delivered.get(FIRST_USER + n, 0) < 1)
    print(f"  crash: SIGKILL after {delivered_at_kill} of {count} sent, holding {len(held)} "
          f"rows; the restarted bot sent them all {recovered:.1f} s after the kill (lease "
          f"{LEASE_SECONDS:.0f} s, renewed every {LEASE_SECONDS / 3:.0f} s); duplicates "
          f"{twice} (in flight at the kill), "
          f"missing {missing}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000,
                        help="reminders for the raw runs (default 10 000)")
    parser.add_argument("--limited-count", type=int, default=10_000,
                        help="reminders for the limited runs (default 10 000: ~6 min each)")
    parser.add_argument("--crash-count", type=int, default=1_000,
                        help="reminders for the crash run (default 1 000)")
    parser.add_argument("--reply-every", type=float, default=0.5,
                        help="a person writes to the bot this often during the limited run")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--only", action="append",
                        choices=("raw", "limited", "two", "crash"), help="run only these parts")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    parts = set(args.only or ("raw", "limited", "two", "crash"))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        database = args.database_url.split("://")[0] if args.database_url else "sqlite"
        print(f"emulated Bot API over HTTP in its own process; database: {database}; "
              f"{os.cpu_count()} cores")
        if "raw" in parts:
            await raw(args, workdir)
        if "limited" in parts:
            await limited(args, workdir)
        if "two" in parts:
            two_instances(args, workdir)
        if "crash" in parts:
            crash(args, workdir)


if __name__ == "__main__":
    asyncio.run(main())
