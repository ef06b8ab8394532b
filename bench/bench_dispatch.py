"""Benchmark: due reminders through the emulated Bot API over HTTP.

Queues ``--count`` due session reminders (one per aspirant, in six languages, with
their buttons), then lets the real dispatcher send them through the bot's own
HTTP client to the emulated Bot API, served on 127.0.0.1 by a separate process
(as Telegram would be):

1. with the bot's rate limiter (``AIORateLimiter``, 30 messages a second, as in
   ``bot/app.py``): prints the achieved rate as a ratio of the configured limit;
2. with the limiter off: prints the raw sends per second (the dispatcher, the
   database and the HTTP round trip are then the only limits).

    .venv/bin/python bench/bench_dispatch.py                 # 10 000 (about 6 minutes)
    .venv/bin/python bench/bench_dispatch.py --count 1000    # quicker
    .venv/bin/python bench/bench_dispatch.py --database-url postgresql+psycopg://...

A fresh database is used for each run (a temporary SQLite file unless a URL is
given; a PostgreSQL database named by the URL is emptied first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from bot.app import OVERALL_PER_SECOND, build_application
from bot.clock import ManualClock
from bot.db import make_engine, make_session_factory, upgrade
from bot.emulator import BotApiEmulator
from bot.emulator.server import serve
from bot.i18n import LANGUAGES, encode_param
from bot.models import Audience, Base, EventKind, OutboxMessage, OutboxStatus, Person
from bot.runtime import Runtime
from bot.services.reminders.planner import default_text
from bot.settings import Settings
from scheduler.dispatcher import Dispatcher

NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
FIRST_USER = 8_000_000


def _fresh_database(url: str | None, workdir: Path, name: str) -> str:
    if url is None:
        url = f"sqlite:///{workdir / name}.sqlite3"
        upgrade(url)
        return url
    upgrade(url)
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


def _emulator_process(count: int, ready: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The emulated Bot API with ``count`` users, until terminated."""
    async def run() -> None:
        emulator = BotApiEmulator()
        languages = list(LANGUAGES)
        for n in range(count):
            emulator.add_user(f"Aspirant{n}", languages[n % len(languages)],
                              user_id=FIRST_USER + n)
        _runner, port = await serve(emulator)
        ready.put((port, emulator.token))
        await asyncio.Event().wait()

    asyncio.run(run())


def _delivered(port: int) -> int:
    from urllib.request import urlopen

    with urlopen(f"http://127.0.0.1:{port}/_emulator/chats", timeout=60) as answer:
        return sum(chat["messages"] for chat in json.load(answer))


def _queue(url: str, count: int) -> None:
    """``count`` aspirants, each with one due "day before" session reminder."""
    languages = list(LANGUAGES)
    engine = make_engine(url)
    people = []
    for n in range(count):
        uid = FIRST_USER + n
        language = languages[n % len(languages)]
        people.append({"id": n + 1, "telegram_user_id": uid, "chat_id": uid,
                       "display_name": f"Aspirant{n}", "language": language,
                       "created_at": NOW, "consent_at": NOW})
    template = default_text(EventKind.INFO_SESSION, Audience.ASPIRANT, "before")
    session_day = (NOW + timedelta(days=1)).date()
    rows = [{
        "recipient_id": n + 1, "kind": "reminder.info_session", "template": template,
        "params": {"date": encode_param(session_day), "time": {"time": "10:00:00"},
                   "place": "Kistagången 2, 164 40 Kista", "booking_id": n + 1},
        "due_at": NOW - timedelta(minutes=1), "expires_at": NOW + timedelta(days=1),
        "status": OutboxStatus.PENDING, "attempts": 0, "created_at": NOW,
    } for n in range(count)]
    with engine.begin() as connection:
        for start in range(0, count, 1000):
            connection.execute(insert(Person), people[start:start + 1000])
            connection.execute(insert(OutboxMessage), rows[start:start + 1000])
    engine.dispose()


async def run_case(count: int, *, rate_limit: bool, database_url: str | None,
                   workdir: Path) -> tuple[float, int]:
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=_emulator_process, args=(count, ready), daemon=True)
    server.start()
    port, token = ready.get(timeout=120)
    url = _fresh_database(database_url, workdir, "limited" if rate_limit else "raw")
    _queue(url, count)
    settings = Settings(_env_file=None, database_url=url,  # type: ignore[call-arg]
                        telegram_token=token, telegram_api_url=f"http://127.0.0.1:{port}")
    engine = make_engine(url)
    runtime = Runtime(settings=settings, clock=ManualClock(NOW),
                      sessions=make_session_factory(engine))
    application = build_application(settings, runtime=runtime, rate_limit=rate_limit,
                                     start_scheduler=False)
    await application.initialize()
    dispatcher = Dispatcher(application.bot, runtime)
    try:
        started = time.perf_counter()
        report = await dispatcher.run()
        elapsed = time.perf_counter() - started
        delivered = _delivered(port)
    finally:
        await application.shutdown()
        engine.dispose()
        server.terminate()
        server.join()
    if report.sent != count or delivered != count:
        raise SystemExit(f"expected {count} messages, sent {report.sent}, delivered "
                         f"{delivered} ({report})")
    return elapsed, report.sent


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="reminders (default 10 000)")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--skip-limited", action="store_true", help="only the raw run")
    parser.add_argument("--skip-raw", action="store_true", help="only the rate-limited run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        database = args.database_url.split("://")[0] if args.database_url else "sqlite"
        print(f"{args.count} due reminders, emulated Bot API over HTTP, database: {database}")
        if not args.skip_limited:
            elapsed, sent = await run_case(args.count, rate_limit=True,
                                           database_url=args.database_url, workdir=workdir)
            rate = sent / elapsed
            print(f"with the rate limiter: {sent} sent in {elapsed:.1f} s = {rate:.2f} msg/s; "
                  f"configured limit {OVERALL_PER_SECOND} msg/s; "
                  f"ratio {rate / OVERALL_PER_SECOND:.3f}")
        if not args.skip_raw:
            elapsed, sent = await run_case(args.count, rate_limit=False,
                                           database_url=args.database_url, workdir=workdir)
            print(f"without the rate limiter: {sent} sent in {elapsed:.1f} s = "
                  f"{sent / elapsed:.0f} msg/s (raw)")


if __name__ == "__main__":
    asyncio.run(main())
