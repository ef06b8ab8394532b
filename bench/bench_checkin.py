"""Benchmark: aspirants checking in through the full handler stack, beside a bare echo bot.

Each check-in is a scanned QR link (``/start ci_<centre>_<code>``) processed by the
real Application (``Application.process_update``, as tests/harness.py does): the
update is parsed, the person resolved, the code verified, the attendance recorded
in the database and the answer sent to the in-process emulated Bot API. The
baseline is a bare python-telegram-bot application whose one handler echoes the
text, measured in the same run through the same emulator request object. The
ratio of the two rates is the cost of everything the bot does per check-in.

    .venv/bin/python bench/bench_checkin.py [--count 1000] [--database-url URL]
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
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import _post_init, build_application
from bot.calendar import at_local
from bot.clock import ManualClock
from bot.db import make_engine, make_session_factory, unit_of_work, upgrade
from bot.emulator import BotApiEmulator, EmulatorRequest
from bot.models import Role
from bot.runtime import Runtime
from bot.services.attendance import checkin_codes
from bot.services.attendance import policy as attendance_policy
from bot.services.centres import centres
from bot.services.people import invites, onboarding, people
from bot.settings import Settings

WARM_UP = 20
FIRST_USER_ID = 500_000


def _now() -> datetime:
    # A Monday in the check-in window; the clock stands still, so every code stays valid.
    return at_local(date(2026, 3, 2), clock_time(8, 45), ZoneInfo("Europe/Stockholm"))


def seed(url: str, count: int, clock: ManualClock) -> tuple[int, str, list[int]]:
    """A job centre, a coach and ``count`` aspirants with a daily requirement."""
    now = clock.now()
    with unit_of_work(make_session_factory(make_engine(url))) as db:
        centre = centres.create(db, now, name="Jobbtorg Bench", address="Benchgatan 1",
                                latitude=59.40, longitude=17.94)
        coach = people.create_person(db, now, telegram_user_id=FIRST_USER_ID - 1,
                                     chat_id=FIRST_USER_ID - 1, language="sv",
                                     display_name="Coach")
        people.grant_role(db, now, coach, Role.COACH, job_centre_id=centre.id)
        user_ids = []
        for n in range(count):
            invite = invites.create(db, now, role=Role.ASPIRANT, job_centre=centre, coach=coach,
                                    attendance_required=True)
            uid = FIRST_USER_ID + n
            onboarding.enrol_aspirant(db, now, invite.id, invite.code, telegram_user_id=uid,
                                      chat_id=uid, language=("sv", "ar", "so", "fa", "ti",
                                                             "en")[n % 6],
                                      display_name=f"Aspirant {n}")
            user_ids.append(uid)
        policy = attendance_policy.policy_for(db, now, centre.id)
        code = checkin_codes.current_code(policy, now)
        return centre.id, code, user_ids


async def measure(label: str, texts: list[tuple[int, str]], app: Application,
                  emulator: BotApiEmulator, check: Callable[[int], bool]
                  ) -> dict[str, float]:
    latencies = []
    started = time.perf_counter()
    for user_id, text in texts:
        update = Update.de_json(emulator.user_sends_text(user_id, text), app.bot)
        begin = time.perf_counter()
        await app.process_update(update)
        latencies.append(time.perf_counter() - begin)
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


def echo_application(token: str, request: EmulatorRequest) -> Application:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    app = ApplicationBuilder().token(token).request(request).get_updates_request(request).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


def last_text(emulator: BotApiEmulator, user_id: int) -> str:
    messages = emulator.bot_messages(user_id)
    return (messages[-1].get("text") or "") if messages else ""


async def run(count: int, database_url: str | None) -> None:
    workdir = tempfile.TemporaryDirectory(prefix="jobbot-bench-")
    url = database_url or f"sqlite:///{workdir.name}/bench.sqlite3"
    upgrade(url)
    clock = ManualClock(_now())
    print(f"seeding {count + WARM_UP} aspirants ({url.split(':')[0]}) ...", file=sys.stderr)
    centre_id, code, user_ids = seed(url, count + WARM_UP, clock)

    emulator = BotApiEmulator()
    request = EmulatorRequest(emulator)
    settings = Settings(_env_file=None, database_url=url,  # type: ignore[call-arg]
                        telegram_token=emulator.token)
    runtime = Runtime(settings=settings, clock=clock,
                      sessions=make_session_factory(make_engine(url)))
    bot_app = build_application(settings, runtime=runtime, request=request, rate_limit=False,
                                start_scheduler=False)
    echo_app = echo_application(emulator.token, request)
    for n, uid in enumerate(user_ids):
        emulator.add_user(f"Aspirant {n}", "sv", user_id=uid)
    echo_users = [emulator.add_user(f"Echo {n}", "en")["id"] for n in range(count + WARM_UP)]
    await bot_app.initialize()
    await _post_init(bot_app)
    await echo_app.initialize()

    link = f"/start {checkin_codes.start_param(centre_id, code)}"

    def checked_in(uid: int) -> bool:
        return last_text(emulator, uid).startswith("✅")

    def echoed(uid: int) -> bool:
        return last_text(emulator, uid) == f"hello {uid}"

    async def both(first: int, last: int, store: bool) -> dict[str, dict[str, float]] | None:
        checks = [(uid, link) for uid in user_ids[first:last]]
        echoes = [(uid, f"hello {uid}") for uid in echo_users[first:last]]
        echo_result = await measure("echo", echoes, echo_app, emulator, echoed)
        checkin_result = await measure("check-in", checks, bot_app, emulator, checked_in)
        return {"echo": echo_result, "checkin": checkin_result} if store else None

    await both(0, WARM_UP, store=False)
    results = await both(WARM_UP, WARM_UP + count, store=True)
    assert results is not None
    await bot_app.shutdown()
    await echo_app.shutdown()
    workdir.cleanup()

    echo, checkin = results["echo"], results["checkin"]
    print(f"check-ins through the full stack: {checkin['count']:.0f} in "
          f"{checkin['count'] / checkin['rate']:.2f} s = {checkin['rate']:.0f}/s, "
          f"p50 {checkin['p50']:.2f} ms, p99 {checkin['p99']:.2f} ms")
    print(f"bare python-telegram-bot echo:    {echo['count']:.0f} in "
          f"{echo['count'] / echo['rate']:.2f} s = {echo['rate']:.0f}/s, "
          f"p50 {echo['p50']:.2f} ms, p99 {echo['p99']:.2f} ms")
    print(f"ratio (echo rate / check-in rate): {echo['rate'] / checkin['rate']:.1f}x; "
          f"p99 ratio: {checkin['p99'] / echo['p99']:.1f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="aspirants checking in")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args.count, args.database_url))


if __name__ == "__main__":
    main()
