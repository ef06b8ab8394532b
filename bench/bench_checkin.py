"""Benchmark: aspirants checking in through the full handler stack, beside a bare echo bot.

Each check-in is a scanned QR link (``/start ci_<centre>_<code>``) handed to the real
Application the way polling or the webhook hands updates over (its update processor:
different people side by side, one person's updates in order): the update is parsed,
the person resolved, the code verified, the attendance recorded in the database and
the answer sent to the emulated Bot API. ``--concurrency`` updates are in flight at
once (1 000 aspirants arriving in the morning), and the emulated Bot API answers each
call after ``--api-latency-ms`` (the real one takes 40–150 ms).

The baseline, measured in the same run with the same latency and concurrency, is a
bare python-telegram-bot application whose one handler echoes the text. Printed: the
rate and latency percentiles of both, their ratio, and with ``--api-latency-ms`` above
0 also the stack's rate at 0 ms latency, to show how much of the latency concurrency
hides.

    .venv/bin/python bench/bench_checkin.py                       # 1 000, 0 ms and 50 ms
    .venv/bin/python bench/bench_checkin.py --api-latency-ms 100 --concurrency 400
    .venv/bin/python bench/bench_checkin.py --database-url postgresql+psycopg://... --concurrency 100

A fresh database is used for each run (a temporary SQLite file unless a URL is
given; a PostgreSQL database named by the URL is emptied first).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bench.databases import fresh_database
from bot.app import _post_init, build_application
from bot.calendar import at_local
from bot.clock import ManualClock
from bot.db import make_engine, make_session_factory, unit_of_work
from bot.emulator import BotApiEmulator, EmulatorRequest
from bot.models import Role
from bot.runtime import Runtime
from bot.services.attendance import checkin_codes
from bot.services.attendance import policy as attendance_policy
from bot.services.centres import centres
from bot.services.centres.calendars import calendar_for
from bot.services.people import invites, onboarding, people
from bot.services.plans import milestones
from bot.settings import Settings

WARM_UP = 50
FIRST_USER_ID = 500_000


class SlowApi(EmulatorRequest):
    """The emulated Bot API answering after a fixed delay, as the real one does."""

    def __init__(self, emulator: BotApiEmulator, latency: float) -> None:
        super().__init__(emulator)
        self.latency = latency

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if self.latency:
            await asyncio.sleep(self.latency)
        return await super().do_request(*args, **kwargs)


def _now() -> datetime:
    # A Monday in the check-in window; the clock stands still, so every code stays valid.
    return at_local(date(2026, 3, 2), clock_time(8, 45), ZoneInfo("Europe/Stockholm"))


def seed(url: str, count: int, clock: ManualClock) -> tuple[int, str, list[int]]:
    """A job centre, a coach and ``count`` aspirants with a daily requirement (their intake
    was the working day before)."""
    now = clock.now()
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as db:
        centre = centres.create(db, now, name="Jobbtorg Bench", address="Benchgatan 1",
                                latitude=59.40, longitude=17.94)
        coach = people.create_person(db, now, telegram_user_id=FIRST_USER_ID - 1,
                                     chat_id=FIRST_USER_ID - 1, language="sv",
                                     display_name="Coach")
        people.grant_role(db, now, coach, Role.COACH, job_centre_id=centre.id)
        user_ids = []
        intake = calendar_for(db, centre.id).add_working_days(
            now.astimezone(ZoneInfo(centre.timezone)).date(), -1)
        for n in range(count):
            invite = invites.create(db, now, role=Role.ASPIRANT, job_centre=centre, coach=coach,
                                    attendance_required=True)
            uid = FIRST_USER_ID + n
            _, enrolment = onboarding.enrol_aspirant(
                db, now, invite.id, invite.code, telegram_user_id=uid, chat_id=uid,
                language=("sv", "ar", "so", "fa", "ti", "en")[n % 6],
                display_name=f"Aspirant {n}")
            # The daily requirement starts the day after the intake: theirs was yesterday.
            milestones.on_info_session_attended(db, now, enrolment.id, intake)
            user_ids.append(uid)
        policy = attendance_policy.policy_for(db, now, centre.id)
        code = checkin_codes.current_code(policy, now)
        result = centre.id, code, user_ids
    if engine.dialect.name == "postgresql":
        # Statistics as autovacuum keeps them in a running bot's database; without them
        # the first round is planned for the empty tables the TRUNCATE left.
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()
    return result


async def measure(label: str, texts: list[tuple[int, str]], app: Application,
                  emulator: BotApiEmulator, concurrency: int, check: Callable[[int], bool]
                  ) -> dict[str, float]:
    """Hand the updates to the application's update processor, ``concurrency`` at a time."""
    latencies: list[float] = []
    slots = asyncio.Semaphore(concurrency)

    async def one(user_id: int, message: str) -> None:
        async with slots:
            update = Update.de_json(emulator.user_sends_text(user_id, message), app.bot)
            begin = time.perf_counter()
            await app.update_processor.process_update(update, app.process_update(update))
            latencies.append(time.perf_counter() - begin)

    started = time.perf_counter()
    await asyncio.gather(*(one(user_id, message) for user_id, message in texts))
    elapsed = time.perf_counter() - started
    failed = sum(1 for user_id, _ in texts if not check(user_id))
    if failed:
        raise SystemExit(f"{label}: {failed} of {len(texts)} updates got no right answer")
    latencies.sort()
    return {
        "count": len(texts),
        "rate": len(texts) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
    }


def echo_application(token: str, request: EmulatorRequest, concurrency: int) -> Application:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    app = (ApplicationBuilder().token(token).request(request).get_updates_request(request)
           .concurrent_updates(concurrency).build())
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


def last_text(emulator: BotApiEmulator, user_id: int) -> str:
    messages = emulator.bot_messages(user_id)
    return (messages[-1].get("text") or "") if messages else ""


def report(label: str, result: dict[str, float]) -> str:
    return (f"{label}: {result['count']:.0f} in {result['count'] / result['rate']:.2f} s = "
            f"{result['rate']:.0f}/s, p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms")


async def run(count: int, database_url: str | None, latencies_ms: list[float],
              concurrency: int) -> None:
    workdir = tempfile.TemporaryDirectory(prefix="jobbot-bench-")
    url = fresh_database(database_url, workdir.name)
    clock = ManualClock(_now())
    rounds = len(latencies_ms)
    print(f"seeding {(count + WARM_UP) * rounds} aspirants ({url.split(':')[0]}) ...",
          file=sys.stderr)
    centre_id, code, user_ids = seed(url, (count + WARM_UP) * rounds, clock)

    emulator = BotApiEmulator()
    request = SlowApi(emulator, 0)
    settings = Settings(_env_file=None, database_url=url,  # type: ignore[call-arg]
                        telegram_token=emulator.token)
    engine = make_engine(url)
    runtime = Runtime(settings=settings, clock=clock, sessions=make_session_factory(engine))
    bot_app = build_application(settings, runtime=runtime, request=request, rate_limit=False,
                                start_scheduler=False)
    echo_app = echo_application(emulator.token, request, concurrency)
    await bot_app.initialize()
    await _post_init(bot_app)
    await echo_app.initialize()
    # The people's side of the emulated Bot API is created after the bot's start, as it
    # would live in another process: nothing of it is among what the bot keeps out of the
    # garbage collector's full passes once started (bot.app._post_init).
    for n, uid in enumerate(user_ids):
        emulator.add_user(f"Aspirant {n}", "sv", user_id=uid)
    echo_users = [emulator.add_user(f"Echo {n}", "en")["id"]
                  for n in range((count + WARM_UP) * rounds)]
    link = f"/start {checkin_codes.start_param(centre_id, code)}"

    def checked_in(uid: int) -> bool:
        return last_text(emulator, uid).startswith("✅")

    def echoed(uid: int) -> bool:
        return last_text(emulator, uid) == f"hello {uid}"

    results = {}
    for round_number, latency_ms in enumerate(latencies_ms):
        request.latency = latency_ms / 1000
        first = round_number * (count + WARM_UP)
        batches = ((first, first + WARM_UP, False), (first + WARM_UP, first + WARM_UP + count,
                                                     True))
        for start, end, keep in batches:
            checks = [(uid, link) for uid in user_ids[start:end]]
            echoes = [(uid, f"hello {uid}") for uid in echo_users[start:end]]
            echo = await measure("echo", echoes, echo_app, emulator, concurrency, echoed)
            full = await measure("check-in", checks, bot_app, emulator, concurrency, checked_in)
            if keep:
                results[latency_ms] = (echo, full)
    await bot_app.shutdown()
    await echo_app.shutdown()
    runtime.database.shutdown()
    engine.dispose()
    workdir.cleanup()

    print(f"{count} aspirants, {concurrency} updates in flight, "
          f"{url.split(':')[0].split('+')[0]}")
    base_rate = results[latencies_ms[0]][1]["rate"]
    for latency_ms, (echo, full) in results.items():
        print(f"\nBot API latency {latency_ms:.0f} ms")
        print("  " + report("check-ins, full stack", full))
        print("  " + report("bare echo handler   ", echo))
        print(f"  full stack / echo throughput: {full['rate'] / echo['rate']:.2f}x")
        if latency_ms != latencies_ms[0]:
            print(f"  full stack at {latency_ms:.0f} ms / at {latencies_ms[0]:.0f} ms: "
                  f"{full['rate'] / base_rate:.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="aspirants checking in")
    parser.add_argument("--api-latency-ms", type=float, action="append",
                        help="the Bot API's answer time; repeat for several rounds "
                             "(default: 0 and 50)")
    parser.add_argument("--concurrency", type=int, default=200,
                        help="updates in flight at once (default 200: at 50 ms a round "
                             "trip, enough to keep the stack busy; fewer measure the "
                             "latency, not the stack)")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    latencies = args.api_latency_ms or [0.0, 50.0]
    asyncio.run(run(args.count, args.database_url, latencies, args.concurrency))


if __name__ == "__main__":
    main()
