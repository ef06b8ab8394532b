"""Benchmark: the console's rule preview (what a draft would send in 14 days) at a big centre.

One job centre with ``--aspirants`` aspirants, every one with the daily check-in, a
booking on one of ten information sessions and a first plan due. For each kind of
event the preview of a rule (bot/services/reminders/forecast.py) is timed beside the
baseline measured in the same run: re-planning that rule's reminders for real, which is
what saving the rule does (``planner.refresh_centre``). The ratio says what looking
before saving costs compared with saving.

    .venv/bin/python bench/bench_rule_preview.py [--aspirants 1000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.calendar import at_local
from bot.db import make_engine, make_session_factory, unit_of_work, upgrade
from bot.models import EventKind, Role
from bot.services.centres import centres
from bot.services.people import invites, onboarding, people
from bot.services.plans import milestones
from bot.services.reminders import forecast, planner
from bot.services.reminders import rules as reminder_rules
from bot.services.sessions import info_sessions

ZONE = ZoneInfo("Europe/Stockholm")
REPEATS = 3


def _now() -> datetime:
    return at_local(date(2026, 3, 2), clock_time(8, 0), ZONE)


def seed(url: str, count: int) -> int:
    now = _now()
    with unit_of_work(make_session_factory(make_engine(url))) as db:
        centre = centres.create(db, now, name="Jobbtorg Bench", address="Benchgatan 1")
        coach = people.create_person(db, now, telegram_user_id=1, chat_id=1, language="sv",
                                     display_name="Coach")
        people.grant_role(db, now, coach, Role.COACH, job_centre_id=centre.id)
        reminder_rules.install_defaults(db, now)
        sessions = [info_sessions.create(
            db, now, job_centre=centre, capacity=500,
            starts_at=at_local(date(2026, 3, 3 + n), clock_time(10, 0), ZONE))
            for n in range(10)]
        for number in range(count):
            invite = invites.create(db, now, role=Role.ASPIRANT, job_centre=centre,
                                    coach=coach, attendance_required=True)
            uid = 1000 + number
            person, enrolment = onboarding.enrol_aspirant(
                db, now, invite.id, invite.code, telegram_user_id=uid, chat_id=uid,
                language=("sv", "ar", "so", "fa", "ti", "en")[number % 6],
                display_name=f"Aspirant {number}")
            info_sessions.book(db, now, person, sessions[number % 10].id)
            milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 2, 27))
        return centre.id


def _timed(function) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(db: Session, centre_id: int, kind: EventKind) -> tuple[int, float, float]:
    """(messages previewed, seconds for the preview, seconds for the real re-plan)."""
    now = _now()
    rule = reminder_rules.rules_for(db, centre_id, kind)[0]
    spec = reminder_rules.spec_of(rule)
    found: list[forecast.Forecast] = []

    def preview() -> None:
        savepoint = db.begin_nested()
        found.append(forecast.forecast(db, now, spec, scope_centre_id=None, rule_id=rule.id))
        savepoint.rollback()

    def replan() -> None:
        savepoint = db.begin_nested()
        planner.refresh_centre(db, now, None, kinds=[kind], reason="rule_changed")
        savepoint.rollback()

    seconds = _timed(preview)
    return len(found[-1].messages), seconds, _timed(replan)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aspirants", type=int, default=1000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    upgrade(url)
    started = time.perf_counter()
    centre_id = seed(url, args.aspirants)
    print(f"seeded {args.aspirants} aspirants in {time.perf_counter() - started:.1f} s "
          f"({url.split(':', 1)[0]})")
    sessions = make_session_factory(make_engine(url))
    print(f"{'event':<14}{'messages':>9}{'preview':>10}{'re-plan':>10}{'ratio':>8}")
    for kind in (EventKind.CHECK_IN, EventKind.INFO_SESSION, EventKind.FIRST_PLAN):
        with unit_of_work(sessions) as db:
            count, seconds, baseline = measure(db, centre_id, kind)
            db.rollback()
        print(f"{kind.value:<14}{count:>9}{seconds:>9.2f}s{baseline:>9.2f}s"
              f"{seconds / baseline:>7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
