"""Benchmark: the check-in's database work, from the event loop, two ways.

The bot's handlers run their unit of work as synchronous SQLAlchemy in a worker
thread (``bot.db.DatabaseRunner``: one thread on SQLite, eight on PostgreSQL). The
alternative is SQLAlchemy's asyncio extension (aiosqlite, psycopg's async mode). Both
run the same statements a check-in runs — who sent it (``identity.identify``'s
statement), the day's state (``checkin._STATE``) and the one insert — with
``--concurrency`` check-ins in flight, and print each one's rate and the ratio.

    .venv/bin/pip install aiosqlite          # only this benchmark needs it
    .venv/bin/python bench/bench_db_access.py [--count 5000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, insert, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import Session

from bench.databases import fresh_database
from bot.db import DatabaseRunner, make_engine, make_session_factory, unit_of_work
from bot.models import AttendanceRecord, Enrolment, JobCentre, Person, RoleGrant
from bot.services.attendance import checkin
from bot.services.people import identity

NOW = datetime(2026, 3, 2, 8, 45, tzinfo=UTC)
FIRST_USER = 700_000


def seed(url: str, count: int) -> None:
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as db:
        db.execute(insert(JobCentre), [{"id": 1, "name": "Bench", "address": "",
                                         "timezone": "Europe/Stockholm", "created_at": NOW}])
        db.execute(insert(Person), [
            {"id": n + 1, "telegram_user_id": FIRST_USER + n, "chat_id": FIRST_USER + n,
             "language": "sv", "created_at": NOW} for n in range(count)])
        db.execute(insert(RoleGrant), [{"person_id": n + 1, "role": "aspirant",
                                        "job_centre_id": 1, "granted_at": NOW}
                                       for n in range(count)])
        db.execute(insert(Enrolment), [{"id": n + 1, "aspirant_id": n + 1, "job_centre_id": 1,
                                        "attendance_required": True, "enrolled_at": NOW}
                                       for n in range(count)])
    engine.dispose()


def params(n: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    who = {"user_id": FIRST_USER + n, "chat_id": FIRST_USER + n}
    state = {"enrolment": n + 1, "day": NOW.date(), "aspirant": n + 1,
             "throttle_key": f"checkin:{n + 1}", "since": NOW - timedelta(minutes=10),
             "centre": 1, "early": NOW + timedelta(minutes=30), "now": NOW}
    write = {"enrolment": n + 1, "day": NOW.date(), "method": "code", "evidence": "code",
             "now": NOW}
    return who, state, write


def thread_unit(db: Session, n: int) -> None:
    who, state, write = params(n)
    connection = db.connection()
    connection.execute(identity._IDENTITY, who).all()
    connection.execute(checkin._STATE, state).one()
    connection.execute(checkin._INSERT_PRESENT, write)


async def run_threads(url: str, count: int, concurrency: int) -> tuple[float, list[float]]:
    engine = make_engine(url)
    runner = DatabaseRunner(make_session_factory(engine))
    slots = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(n: int) -> None:
        async with slots:
            begin = time.perf_counter()
            await runner.run(lambda db: thread_unit(db, n))
            latencies.append(time.perf_counter() - begin)

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    elapsed = time.perf_counter() - started
    runner.shutdown()
    engine.dispose()
    return count / elapsed, latencies


def async_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


async def run_async(url: str, count: int, concurrency: int) -> tuple[float, list[float]]:
    sqlite = url.startswith("sqlite")
    engine = create_async_engine(async_url(url), pool_size=1 if sqlite else 8,
                                 max_overflow=0)
    # SQLite takes one writer: the async engine's single connection serialises them too.
    slots = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(n: int) -> None:
        who, state, write = params(n)
        async with slots:
            begin = time.perf_counter()
            async with engine.begin() as connection:
                (await connection.execute(identity._IDENTITY, who)).all()
                (await connection.execute(checkin._STATE, state)).one()
                await connection.execute(checkin._INSERT_PRESENT, write)
            latencies.append(time.perf_counter() - begin)

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return count / elapsed, latencies


def clear_records(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(delete(AttendanceRecord))
    engine.dispose()


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000


async def main_async(count: int, url: str | None, concurrency: int) -> None:
    workdir = tempfile.TemporaryDirectory(prefix="jobbot-bench-")
    url = fresh_database(url, workdir.name)
    seed(url, count)
    results = {}
    for label, run in (("threads", run_threads), ("asyncio", run_async),
                       ("threads", run_threads), ("asyncio", run_async)):
        clear_records(url)
        rate, latencies = await run(url, count, concurrency)
        results.setdefault(label, []).append((rate, latencies))
    workdir.cleanup()
    print(f"{count} check-ins' database work, {concurrency} in flight, "
          f"{url.split(':')[0].split('+')[0]} (best of two runs each)")
    best = {label: max(runs, key=lambda r: r[0]) for label, runs in results.items()}
    for label, (rate, latencies) in best.items():
        print(f"  {label:8}: {rate:7.0f}/s, p50 {statistics.median(latencies) * 1000:6.1f} ms, "
              f"p99 {p99(latencies):6.1f} ms")
    print(f"  threads / asyncio throughput: {best['threads'][0] / best['asyncio'][0]:.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.count, args.database_url, args.concurrency))


if __name__ == "__main__":
    main()
