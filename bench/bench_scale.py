"""Benchmark: the whole city — 100 000 aspirants and 1 000 000 outbox rows.

A separate process builds the data with bulk inserts (seven job centres, their coaches
and team leads, every aspirant enrolled with a daily check-in requirement, plan
milestones, information sessions and bookings, the check-in reminders of today and
tomorrow planned by the planner itself, and the rest of the million outbox rows as the
history a year of reminders leaves). Then this process runs the bot as ``jobbot run``
does (the real Application, handlers and database worker threads, against the in-process
emulated Bot API) and measures:

1. the dispatcher's next-due claim query over the million rows;
2. check-ins through the full handler stack (``/start ci_…`` links, as scanned at the
   job centre) arriving at a steady rate, with nothing else running: the baseline;
3. an admin changing the general check-in rule: the admin's unit of work (which only
   records the re-planning request), then the re-planning of every enrolment in chunks,
   while check-ins keep arriving at the same rate through the same stack;
4. the hourly horizon pass over everyone (nothing to change), a few times over, and the
   process's resident memory after each pass and at its peak.

    .venv/bin/python bench/bench_scale.py                       # SQLite, temporary file
    .venv/bin/python bench/bench_scale.py --database-url postgresql+psycopg://u:p@host/db
    .venv/bin/python bench/bench_scale.py --aspirants 20000 --outbox 200000   # quicker

For PostgreSQL a fresh database is created next to the one named in the URL and
dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, make_url, select, text, update
from telegram import Update

from bot.app import _post_init, build_application
from bot.calendar import at_local
from bot.clock import ManualClock
from bot.db import make_engine, make_session_factory, unit_of_work, upgrade
from bot.emulator import BotApiEmulator, EmulatorRequest
from bot.i18n import LANGUAGES, Term, encode_param
from bot.models import (
    Audience,
    Booking,
    BookingStatus,
    Enrolment,
    EventKind,
    InfoSession,
    MilestoneKind,
    OutboxMessage,
    OutboxStatus,
    Person,
    PlanMilestone,
    ReminderRule,
    Role,
    RoleGrant,
)
from bot.runtime import Runtime
from bot.services.attendance import checkin_codes
from bot.services.attendance import policy as attendance_policy
from bot.services.centres import centres
from bot.services.messaging import claims, outbox
from bot.services.reminders import bulk, replan_requests
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders.planner import HORIZON_REASON, MILESTONE_NAMES, default_text
from bot.settings import Settings
from scheduler.planning_jobs import HORIZON, PlanningWorker

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# A Monday in the check-in window; the clock stands still, so every code stays valid.
NOW = at_local(date(2026, 3, 2), clock_time(8, 45), STOCKHOLM)
CENTRES = ("Jobbtorg City", "Jobbtorg Farsta-Skärholmen", "Jobbtorg Fokus unga",
           "Jobbtorg Kista", "Jobbtorg Kista unga", "Jobbtorg Vällingby", "Jobbtorg Jobbstart")
FIRST_USER = 20_000_000
BATCH = 10_000
SPOKEN = sorted(LANGUAGES)
# Rows of today's reminders left unsent: the claim query finds due rows, as it would.
DUE_NOW = 5_000


# --- the data (in a process of its own, so its memory is not the bot's) ---------------------
def seed(url: str, aspirants: int, outbox_rows: int) -> None:
    started = time.perf_counter()
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    rng = random.Random(10)
    with unit_of_work(sessions) as db:
        centre_ids = [centres.create(db, NOW, name=name, address=f"{name}, Stockholm",
                                     latitude=59.3, longitude=18.0).id for name in CENTRES]
        reminder_rules.install_defaults(db, NOW)
        for centre_id in centre_ids:
            attendance_policy.policy_for(db, NOW, centre_id)
    coaches: dict[int, list[int]] = {}
    people = _insert_people(db_engine=engine, count=len(CENTRES) * 101, first=FIRST_USER - 10_000,
                            name="Coach")
    grants = []
    for n, centre_id in enumerate(centre_ids):
        coaches[centre_id] = people[n * 101:n * 101 + 100]
        grants += [{"person_id": p, "role": Role.COACH, "job_centre_id": centre_id,
                    "granted_at": NOW} for p in coaches[centre_id]]
        grants.append({"person_id": people[n * 101 + 100], "role": Role.TEAM_LEAD,
                       "job_centre_id": centre_id, "granted_at": NOW})
    _insert_many(engine, RoleGrant, grants)

    aspirant_ids = _insert_people(db_engine=engine, count=aspirants, first=FIRST_USER,
                                  name="Aspirant")
    centre_of = [centre_ids[n % len(centre_ids)] for n in range(aspirants)]
    _insert_many(engine, RoleGrant, ({"person_id": p, "role": Role.ASPIRANT,
                                      "job_centre_id": centre_of[n], "granted_at": NOW}
                                     for n, p in enumerate(aspirant_ids)))
    today = NOW.astimezone(STOCKHOLM).date()
    # Each enrolled 1–300 days ago, with the information session (the intake) up to three
    # days later but before today: the daily check-in runs from the day after the intake.
    ages = [rng.randint(1, 300) for _ in aspirant_ids]
    enrolment_ids = _insert_many(engine, Enrolment, (
        {"aspirant_id": p, "job_centre_id": centre_of[n],
         "coach_id": rng.choice(coaches[centre_of[n]]), "attendance_required": True,
         "enrolled_at": NOW - timedelta(days=ages[n]),
         "intake_on": today - timedelta(days=ages[n] - min(ages[n] - 1, 3))}
        for n, p in enumerate(aspirant_ids)), returning=True)
    _insert_many(engine, PlanMilestone, (
        row for e in enrolment_ids for row in (
            {"enrolment_id": e, "kind": MilestoneKind.FIRST_PLAN, "due_on": today
             - timedelta(days=rng.randint(30, 200)), "counted_from": today, "created_at": NOW,
             "done_at": NOW - timedelta(days=20)},
            {"enrolment_id": e, "kind": MilestoneKind.REVIEW, "due_on": today
             + timedelta(days=rng.randint(1, 90)), "counted_from": today, "created_at": NOW,
             "done_at": None})))
    session_ids = _insert_many(engine, InfoSession, (
        {"job_centre_id": c, "starts_at": NOW + timedelta(days=d, hours=1),
         "ends_at": NOW + timedelta(days=d, hours=2), "place": "", "language": "sv",
         "capacity": 40, "created_at": NOW, "updated_at": NOW}
        for c in centre_ids for d in range(1, 15)), returning=True)
    _insert_many(engine, Booking, (
        {"info_session_id": rng.choice(session_ids), "aspirant_id": p,
         "status": BookingStatus.BOOKED, "created_at": NOW, "updated_at": NOW}
        for p in aspirant_ids[::50]))
    print(f"  people, enrolments, milestones, sessions: {time.perf_counter() - started:.0f} s",
          file=sys.stderr)

    # Today's and tomorrow's check-in reminders, planned by the planner itself, early
    # this morning (as the hourly job did).
    planning = time.perf_counter()
    position = bulk.first_position(HORIZON)
    while position is not None:
        with unit_of_work(sessions) as db:
            position, _ = bulk.plan_chunk(db, NOW - timedelta(hours=2), HORIZON, position,
                                          HORIZON_REASON)
    print(f"  the check-in horizon planned for everyone: {time.perf_counter() - planning:.0f} s",
          file=sys.stderr)
    with unit_of_work(sessions) as db:
        # The dispatcher has sent this morning's reminders, all but the last few.
        due = select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING,
                                             OutboxMessage.due_at <= NOW)
        keep = set(db.scalars(due.order_by(OutboxMessage.id.desc()).limit(DUE_NOW)))
        db.execute(update(OutboxMessage).where(OutboxMessage.id.in_(due.subquery().select()),
                                               OutboxMessage.id.not_in(keep))
                   .values(status=OutboxStatus.SENT, sent_at=NOW, attempts=1)
                   .execution_options(synchronize_session=False))
        planned = db.scalar(select(func.count(OutboxMessage.id))) or 0
        rule_id = db.scalar(select(ReminderRule.id).where(
            ReminderRule.event_kind == EventKind.CHECK_IN))
    _insert_history(engine, rng, outbox_rows - planned, enrolment_ids, aspirant_ids, rule_id)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    print(f"  seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def _insert_people(db_engine, count: int, first: int, name: str) -> list[int]:  # type: ignore[no-untyped-def]
    return _insert_many(db_engine, Person, (
        {"telegram_user_id": first + n, "chat_id": first + n, "display_name": f"{name} {n}",
         "language": SPOKEN[n % len(SPOKEN)], "consent_at": NOW, "created_at": NOW}
        for n in range(count)), returning=True)


def _insert_many(engine, model, rows, *, returning: bool = False) -> list[int]:  # type: ignore[no-untyped-def]
    table = model.__table__
    ids: list[int] = []
    batch: list[dict] = []  # type: ignore[type-arg]

    def flush() -> None:
        with engine.begin() as connection:
            if returning:
                statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
                ids.extend(connection.execute(statement, batch).scalars())
            else:
                connection.execute(insert(table), batch)
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return ids


def _insert_history(engine, rng: random.Random, count: int, enrolment_ids: list[int],  # type: ignore[no-untyped-def]
                    aspirant_ids: list[int], rule_id: int) -> None:
    """What a year of reminders leaves: sent check-in and plan reminders, a few skipped
    and cancelled ones, notices."""
    template = default_text(EventKind.CHECK_IN, Audience.ASPIRANT, "before")
    review = default_text(EventKind.REVIEW, Audience.ASPIRANT, "before")

    def rows():  # type: ignore[no-untyped-def]
        for n in range(count):
            k = n % len(enrolment_ids)
            day = NOW - timedelta(days=1 + n // len(enrolment_ids) + n % 7)
            status = (OutboxStatus.SENT if n % 20 else
                      rng.choice((OutboxStatus.SKIPPED, OutboxStatus.CANCELLED,
                                  OutboxStatus.FAILED)))
            check_in = n % 5 != 0
            key = (f"ci:{enrolment_ids[k]}:{day.date().isoformat()}" if check_in
                   else f"ms:{n}")
            yield {
                "recipient_id": aspirant_ids[k], "priority": 0,
                "kind": "reminder.check_in" if check_in else "reminder.review",
                "template": template if check_in else review,
                "params": {"date": encode_param(day.date()), "name": "Aspirant"} if check_in
                else {"milestone": encode_param(Term(MILESTONE_NAMES[MilestoneKind.REVIEW]))},
                "rule_id": rule_id, "event_key": key,
                "dedupe_key": None if status == OutboxStatus.CANCELLED else f"h{n}:{key}",
                "due_at": day, "status": status, "attempts": 1,
                "sent_at": day if status == OutboxStatus.SENT else None,
                "skip_reason": "expired" if status == OutboxStatus.SKIPPED else None,
                "created_at": day,
            }

    _insert_many(engine, OutboxMessage, rows())


# --- the bot ----------------------------------------------------------------------------
class Memory:
    """The process's resident set size, sampled, and its peak."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    @staticmethod
    def now_mb() -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**20

    @staticmethod
    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    async def watch(self) -> None:
        while True:
            self.samples.append(self.now_mb())
            await asyncio.sleep(0.5)


class CheckIns:
    """Aspirants scanning the check-in code, at a steady rate, each through the full stack."""

    def __init__(self, app, emulator: BotApiEmulator, links: dict[int, str],  # type: ignore[no-untyped-def]
                 people: list[int]) -> None:
        self.app, self.emulator, self.links = app, emulator, links
        self.people = iter(people)

    async def one(self, uid: int, latencies: list[float]) -> None:
        update = Update.de_json(self.emulator.user_sends_text(uid, self.links[uid]), self.app.bot)
        begin = time.perf_counter()
        await self.app.process_update(update)
        latencies.append(time.perf_counter() - begin)
        answer = self.emulator.bot_messages(uid)[-1].get("text") or ""
        if not answer.startswith("✅"):
            raise SystemExit(f"a check-in got no right answer: {answer[:80]!r}")

    async def run(self, rate: float, *, count: int | None = None,
                  until: asyncio.Task | None = None) -> list[float]:  # type: ignore[type-arg]
        """Start one check-in every 1/rate s, ``count`` of them or until ``until`` is done."""
        latencies: list[float] = []
        running = []
        started = time.perf_counter()
        n = 0
        while (count is None or n < count) and not (until is not None and until.done()):
            uid = next(self.people)
            running.append(asyncio.ensure_future(self.one(uid, latencies)))
            n += 1
            delay = started + n / rate - time.perf_counter()
            await asyncio.sleep(max(0.0, delay))
        await asyncio.gather(*running)
        return latencies


def _stats(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"count": len(ordered), "p50": statistics.median(ordered) * 1000,
            "p99": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
            "max": ordered[-1] * 1000}


def _timed(work, repeat: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        begin = time.perf_counter()
        work()
        times.append(time.perf_counter() - begin)
    return _stats(times)


async def run_bot(url: str, aspirants: int, rate: float, baseline: int,
                  horizon_passes: int) -> None:
    memory = Memory()
    watcher = asyncio.ensure_future(memory.watch())
    start_mb = memory.now_mb()
    engine = make_engine(url)
    sessions = make_session_factory(engine)

    # 1. The dispatcher's claim of due rows, and its look-ahead, over the million rows.
    def claim() -> None:
        with sessions() as db:
            assert claims.claim(db, now=NOW, token="bench", limit=100).messages
            db.rollback()

    def claim_query() -> None:
        # The rows the dispatcher's claim walks to find the due ones (then it claims them).
        query = (select(OutboxMessage.id)
                 .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= NOW)
                 .order_by(OutboxMessage.due_at, OutboxMessage.id).limit(100))
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with sessions() as db:
            assert list(db.scalars(query))
            db.rollback()

    def look_ahead() -> None:
        with sessions() as db:
            outbox.next_due_at(db)

    query_stats = _timed(claim_query, 100)
    claim_stats = _timed(claim, 100)
    ahead_stats = _timed(look_ahead, 100)

    emulator = BotApiEmulator()
    request = EmulatorRequest(emulator)
    settings = Settings(_env_file=None, database_url=url,  # type: ignore[call-arg]
                        telegram_token=emulator.token)
    clock = ManualClock(NOW)
    runtime = Runtime(settings=settings, clock=clock, sessions=sessions)
    app = build_application(settings, runtime=runtime, request=request, rate_limit=False,
                            start_scheduler=False)
    await app.initialize()
    await _post_init(app)

    rng = random.Random(3)
    people = rng.sample(range(aspirants), k=min(aspirants, 40_000))
    with sessions() as db:
        codes = {}
        for centre_id, in db.execute(text("SELECT id FROM job_centre")):
            policy = attendance_policy.policy_for(db, NOW, centre_id)
            codes[centre_id] = checkin_codes.start_param(
                centre_id, checkin_codes.current_code(policy, NOW))
        centre_of = dict(db.execute(select(Person.telegram_user_id, Enrolment.job_centre_id)
                                    .join(Enrolment, Enrolment.aspirant_id == Person.id)
                                    .where(Person.telegram_user_id >= FIRST_USER)).all())
        rule_id = db.scalar(select(ReminderRule.id).where(
            ReminderRule.event_kind == EventKind.CHECK_IN))
    uids = [FIRST_USER + n for n in people]
    links = {uid: f"/start {codes[centre_of[uid]]}" for uid in uids}
    for uid in uids:
        emulator.add_user(f"Aspirant {uid - FIRST_USER}", "sv", user_id=uid)
    checkins = CheckIns(app, emulator, links, uids)
    await checkins.run(rate, count=50)  # warm-up
    idle_mb = memory.now_mb()

    # 2. The baseline: check-ins with nothing else running.
    base = _stats(await checkins.run(rate, count=baseline))

    # 3. The admin moves the check-in reminder; the city is planned again meanwhile.
    admin_started = time.perf_counter()
    await runtime.database.run(lambda db: reminder_rules.update(
        db, NOW, rule_id, offset_minutes=-20))
    admin_ms = (time.perf_counter() - admin_started) * 1000
    worker = PlanningWorker(runtime, name="bench")
    replan_started = time.perf_counter()
    planning = asyncio.ensure_future(worker.drain())
    during_latencies = await checkins.run(rate, until=planning)
    report = await planning
    replan_s = time.perf_counter() - replan_started
    during = _stats(during_latencies)
    after_replan_mb = memory.now_mb()

    # 4. The hourly horizon over everyone, again and again: nothing to change; memory stays.
    horizons = []
    for _ in range(horizon_passes):
        began = time.perf_counter()
        await runtime.database.run(lambda db: replan_requests.record(
            db, NOW, HORIZON, HORIZON_REASON, restart=False))
        await worker.drain()
        horizons.append((time.perf_counter() - began, memory.now_mb()))
    watcher.cancel()
    await app.shutdown()
    with sessions() as db:
        rows = db.scalar(select(func.count(OutboxMessage.id)))
    engine.dispose()
    peak = memory.peak_mb()

    print(f"database: {make_url(url).get_backend_name()}, {aspirants} aspirants "
          f"(each with a daily check-in), {rows} outbox rows")
    print(f"next-due claim query (100 due rows): p50 {query_stats['p50']:.2f} ms, "
          f"p99 {query_stats['p99']:.2f} ms (goal < 5 ms); next-due look-ahead: p50 "
          f"{ahead_stats['p50']:.2f} ms; whole claim with its update: p50 "
          f"{claim_stats['p50']:.1f} ms")
    print(f"admin's rule change (records the request): {admin_ms:.0f} ms")
    print(f"re-planning every enrolment after the rule change: {replan_s:.1f} s "
          f"({report.chunks} chunks, {report.cancelled} cancelled, {report.created} added; "
          f"goal < 60 s)")
    print(f"check-ins at {rate:.0f}/s, nothing else running: {base['count']:.0f}, "
          f"p50 {base['p50']:.1f} ms, p99 {base['p99']:.1f} ms, max {base['max']:.0f} ms")
    print(f"check-ins at {rate:.0f}/s while re-planning:     {during['count']:.0f}, "
          f"p50 {during['p50']:.1f} ms, p99 {during['p99']:.1f} ms, max {during['max']:.0f} ms "
          f"(goal p99 < 500 ms)")
    print(f"ratio while re-planning / baseline: p50 {during['p50'] / base['p50']:.1f}x, "
          f"p99 {during['p99'] / base['p99']:.1f}x")
    print("hourly horizon over everyone (nothing to change): "
          + ", ".join(f"{seconds:.1f} s" for seconds, _ in horizons))
    print(f"memory (RSS): {start_mb:.0f} MB at start, {idle_mb:.0f} MB with the bot running, "
          f"{after_replan_mb:.0f} MB after the re-planning, "
          + ", ".join(f"{mb:.0f} MB" for _, mb in horizons)
          + f" after each horizon pass; peak {peak:.0f} MB (goal < 250 MB)")


# --- databases ---------------------------------------------------------------------------
def _fresh_postgres(url: str) -> tuple[str, str]:
    server = make_engine(url, isolation_level="AUTOCOMMIT")
    name = f"{make_url(url).database}_scale_{uuid.uuid4().hex[:8]}"
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False), name


def _drop_postgres(url: str, name: str) -> None:
    server = make_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aspirants", type=int, default=100_000)
    parser.add_argument("--outbox", type=int, default=1_000_000, help="outbox rows in all")
    parser.add_argument("--rate", type=float, default=50, help="check-ins per second")
    parser.add_argument("--baseline", type=int, default=1500,
                        help="check-ins measured with nothing else running")
    parser.add_argument("--horizons", type=int, default=3,
                        help="hourly horizon passes at the end (memory after each)")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--seed-into", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.seed_into:
        seed(args.seed_into, args.aspirants, args.outbox)
        return
    workdir = tempfile.TemporaryDirectory(prefix="jobbot-scale-")
    dropped = None
    if args.database_url and args.database_url.startswith("postgresql"):
        url, dropped = _fresh_postgres(args.database_url)
    else:
        url = args.database_url or f"sqlite:///{workdir.name}/scale.sqlite3"
    try:
        upgrade(url)
        print(f"seeding {args.aspirants} aspirants and {args.outbox} outbox rows ...",
              file=sys.stderr)
        subprocess.run([sys.executable, __file__, "--seed-into", url,
                        "--aspirants", str(args.aspirants), "--outbox", str(args.outbox)],
                       check=True)
        asyncio.run(run_bot(url, args.aspirants, args.rate, args.baseline, args.horizons))
    finally:
        if dropped is not None:
            _drop_postgres(args.database_url, dropped)
        workdir.cleanup()


if __name__ == "__main__":
    main()
