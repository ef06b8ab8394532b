"""Planning in bulk: the same reminders as the per-event planner, set-wise and in chunks,
durable across stops and crashes, with chats answered while it runs."""

from __future__ import annotations

import ast
import asyncio
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import make_engine, make_session_factory, unit_of_work
from bot.models import (
    AttendanceRecord,
    AttendanceStatus,
    Booking,
    CheckInMethod,
    Enrolment,
    EventKind,
    InfoSession,
    OutboxStatus,
    Person,
    PlanMilestone,
    ReminderRule,
    ReminderSettings,
    ReplanRequest,
    Role,
)
from bot.services.attendance import checkin_codes
from bot.services.attendance import policy as attendance_policy
from bot.services.reminders import bulk, replan_requests
from bot.services.reminders import planner as reminders
from scheduler import planning_jobs
from scheduler.planning_jobs import PlanningWorker
from tests import factories
from tests import reference_planner as reference
from tests.conftest import STOCKHOLM, local, new_postgres_database
from tests.planning_support import cohort, outbox_rows
from tests.reminder_support import cast, rows

ROOT = Path(__file__).resolve().parent.parent
ALL = bulk.Scope.of(None)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def twins(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
          ) -> Iterator[tuple[sessionmaker[Session], sessionmaker[Session]]]:
    """Two empty databases: the reference planner plans one, the set-wise planner the other."""
    if request.param == "sqlite":
        urls = []
        for name in ("reference", "bulk"):
            shutil.copy(sqlite_template, tmp_path / f"{name}.sqlite3")
            urls.append(f"sqlite:///{tmp_path / name}.sqlite3")
        engines = [make_engine(url) for url in urls]
        yield make_session_factory(engines[0]), make_session_factory(engines[1])
        for engine in engines:
            engine.dispose()
        return
    with new_postgres_database("jobbot_ref") as first, \
            new_postgres_database("jobbot_bulk") as second:
        engines = [make_engine(first), make_engine(second)]
        yield make_session_factory(engines[0]), make_session_factory(engines[1])
        for engine in engines:
            engine.dispose()


def _both(twins, work) -> None:  # type: ignore[no-untyped-def]
    for sessions in twins:
        with unit_of_work(sessions) as db:
            work(db)


def _same(twins) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    found = []
    for sessions in twins:
        with unit_of_work(sessions) as db:
            found.append(outbox_rows(db))
    assert found[0] == found[1]
    return found[0]


def _changes(db: Session, now: datetime) -> None:
    """The same edits on both sides, straight into the tables (nothing plans meanwhile)."""
    day_before = db.scalar(select(ReminderRule).where(
        ReminderRule.offset_days == -1, ReminderRule.event_kind == EventKind.INFO_SESSION))
    day_before.offset_days, day_before.offset_minutes = -2, 30
    check_in = db.scalar(select(ReminderRule).where(
        ReminderRule.event_kind == EventKind.CHECK_IN, ReminderRule.job_centre_id.is_(None)))
    check_in.texts = {"so": "Xasuusin {time}"}
    farsta = db.scalar(select(ReminderSettings).where(ReminderSettings.quiet_weekends))
    farsta.quiet_start, farsta.quiet_end = time(22, 0), time(6, 0)
    enrolments = list(db.scalars(select(Enrolment).order_by(Enrolment.id)))
    for enrolment in enrolments[::7]:
        enrolment.attendance_required = not enrolment.attendance_required
    for enrolment in enrolments[3::11]:
        enrolment.left_at = now
    for enrolment in enrolments[5::9]:
        if enrolment.attendance_required and enrolment.left_at is None:
            db.add(AttendanceRecord(enrolment_id=enrolment.id,
                                    day=now.astimezone(STOCKHOLM).date() + timedelta(days=1),
                                    status=AttendanceStatus.PRESENT,
                                    method=CheckInMethod.CODE, recorded_at=now))
    for person in list(db.scalars(select(Person).order_by(Person.id)))[::13]:
        person.unreachable_at = now
    for milestone in list(db.scalars(select(PlanMilestone).order_by(PlanMilestone.id)))[::5]:
        milestone.done_at = now
    for session in list(db.scalars(select(InfoSession).order_by(InfoSession.id)))[::4]:
        session.starts_at += timedelta(hours=1, minutes=30)
    for booking in list(db.scalars(select(Booking).order_by(Booking.id)))[::6]:
        booking.status = reference.BookingStatus.CANCELLED
    db.flush()


def test_the_set_wise_planner_plans_what_the_per_event_planner_planned(twins, clock):
    reference_side, bulk_side = twins
    now = clock.now()
    _both(twins, lambda db: cohort(db, now))

    # Everything from nothing.
    with unit_of_work(reference_side) as db:
        reference.refresh_centre(db, now, None)
    with unit_of_work(bulk_side) as db:
        counts = bulk.plan_all(db, now, ALL, "rule_changed", size=7)
    planned = _same(twins)
    assert counts.created == sum(1 for row in planned if row[6] == OutboxStatus.PENDING)
    # The cohort reaches every part of the arithmetic.
    assert {row[1] for row in planned} == {f"reminder.{kind.value}" for kind in EventKind}
    assert {row[7] for row in planned} >= {None, "quiet_hours", "merged"}
    assert len({row[3] for row in planned}) > 40

    # Rules, quiet hours, requirements, records, reachability and sessions change.
    _both(twins, lambda db: _changes(db, now))
    with unit_of_work(reference_side) as db:
        reference.refresh_centre(db, now, None, reason="settings_changed")
    with unit_of_work(bulk_side) as db:
        bulk.plan_all(db, now, ALL, "settings_changed", size=5)
    replanned = _same(twins)
    statuses = Counter((row[6], row[7]) for row in replanned)
    assert statuses[(OutboxStatus.CANCELLED, "settings_changed")] > 20
    assert any(row[6] == OutboxStatus.PENDING and "Xasuusin" in row[9] for row in replanned)

    # A day and some hours later the hourly horizon moves on; and a centre's check-ins only.
    later = now + timedelta(hours=27)
    with unit_of_work(reference_side) as db:
        reference.plan_horizon(db, later)
        reference.refresh_centre(db, later, 2, kinds={EventKind.CHECK_IN},
                                 reason="policy_changed")
    with unit_of_work(bulk_side) as db:
        reminders.plan_horizon(db, later)
        bulk.plan_all(db, later, bulk.Scope.of(2, [EventKind.CHECK_IN]), "policy_changed",
                      size=3)
    _same(twins)


def test_one_event_at_a_time_plans_what_the_per_event_planner_planned(twins, clock):
    """The entry points for one booking, milestone or enrolment, after the same changes."""
    reference_side, bulk_side = twins
    now = clock.now()
    _both(twins, lambda db: cohort(db, now, seed=11, aspirants=45))
    with unit_of_work(reference_side) as db:
        reference.refresh_centre(db, now, None)
    with unit_of_work(bulk_side) as db:
        reminders.refresh_centre(db, now, None)
    _same(twins)
    _both(twins, lambda db: _changes(db, now))

    for module, sessions in ((reference, reference_side), (reminders, bulk_side)):
        with unit_of_work(sessions) as db:
            for booking in db.scalars(select(Booking).order_by(Booking.id)):
                module.refresh_booking(db, now, booking, reason="rescheduled")
            for milestone in db.scalars(select(PlanMilestone).order_by(PlanMilestone.id)):
                module.refresh_milestone(db, now, milestone, reason="milestone_done")
            for enrolment in db.scalars(select(Enrolment).order_by(Enrolment.id)):
                module.refresh_enrolment(db, now, enrolment, reason="requirement_changed")
            for session in db.scalars(select(InfoSession).order_by(InfoSession.id)):
                module.refresh_session(db, now, session)
    replanned = _same(twins)
    assert {row[7] for row in replanned if row[6] == OutboxStatus.CANCELLED} >= {
        "rescheduled", "milestone_done", "requirement_changed"}


def test_planning_twice_changes_nothing_and_no_duplicates_are_added(db, clock):
    now = clock.now()
    cohort(db, now, aspirants=30)
    first = bulk.plan_all(db, now, ALL, "rule_changed", size=4)
    before = outbox_rows(db)
    again = bulk.plan_all(db, now, ALL, "rule_changed", size=9)
    assert (again.created, again.cancelled, again.updated) == (0, 0, 0)
    assert again.events == first.events
    assert outbox_rows(db) == before


# --- durable requests, chunks and stops ---------------------------------------------------
def _daily(harness, aspirants: int = 40):  # type: ignore[no-untyped-def]
    """A centre whose aspirants check in daily, their reminders planned, and an admin of
    the general rules."""
    people = cast(harness, *((f"A{n}", "sv") for n in range(aspirants)),
                  attendance_required=True)
    admin = harness.phone("Sara", "en")
    with harness.db() as db:
        # They came to the information session last week: the daily check-in has started.
        for enrolment in db.scalars(select(Enrolment)):
            enrolment.intake_on = harness.clock.now().date() - timedelta(days=7)
        factories.staff(db, harness.clock.now(), Role.ADMIN, None, name="Sara", language="en",
                        telegram_user_id=admin.id)
        reminders.plan_horizon(db, harness.clock.now())
    return people, admin


def _check_in_rule(db: Session) -> ReminderRule:
    return db.scalar(select(ReminderRule).where(ReminderRule.event_kind == EventKind.CHECK_IN))


def _due_times(db: Session) -> set[datetime]:
    return {row.due_at for row in rows(db, kind="reminder.check_in")}


def _request_city_wide(harness) -> int:  # type: ignore[no-untyped-def]
    """A rule change at scale: recorded, not planned (the check-in rule moves by 15 min)."""
    with harness.db() as db:
        rule = _check_in_rule(db)
        rule.offset_minutes -= 15
        db.flush()
        assert reminders.refresh_centre(db, harness.clock.now(), None,
                                        kinds=[EventKind.CHECK_IN], inline_limit=0) is None
        return db.scalar(select(ReplanRequest.id))


async def test_a_big_change_made_in_a_chat_is_planned_after_the_commit(harness, monkeypatch):
    """At scale the admin's unit of work records the request; the pass comes after it."""
    _, admin = _daily(harness)
    monkeypatch.setattr(reminders, "INLINE_LIMIT", 10)
    harness.plan_after_updates = False
    with harness.db() as db:
        before = _due_times(db)
    await admin.send("/admin")
    await admin.press("Reminder rules")
    await admin.press("General rules")
    await admin.press("21. 15 minutes before")
    await admin.press("Timing")
    await admin.send("-10m")
    await admin.press("Save")
    with harness.db() as db:
        assert _check_in_rule(db).offset_minutes == -10
        assert _due_times(db) == before  # nothing planned inside the admin's turn
        [request] = db.scalars(select(ReplanRequest)).all()
        assert (request.reason, request.kinds, request.job_centre_id) == (
            "rule_changed", "check_in", None)
    report = await harness.planning.drain()
    assert (report.requests, report.stopped) == (1, False)
    with harness.db() as db:
        assert _due_times(db) == {due + timedelta(minutes=5) for due in before}
        assert db.scalars(select(ReplanRequest)).all() == []


async def test_check_ins_are_answered_while_the_city_is_re_planned(harness):
    people, _ = _daily(harness, aspirants=60)
    harness.plan_after_updates = False
    harness.clock.set(local(2026, 3, 2, 8, 45))  # the check-in window is open
    _request_city_wide(harness)
    with harness.db() as db:
        centre_id = people.world.centre.id
        policy = attendance_policy.policy_for(db, harness.clock.now(), centre_id)
        link = f"/start {checkin_codes.start_param(centre_id, checkin_codes.current_code(policy, harness.clock.now()))}"
    worker = PlanningWorker(harness.runtime, name="city", chunk=3)
    planning = asyncio.ensure_future(worker.drain())
    await asyncio.wait_for(_until(lambda: worker.chunks >= 1), timeout=30)

    answer = await people.aspirants["A7"].send(link)
    assert answer[-1]["text"].startswith("✅")
    assert not planning.done(), "answered while the re-planning goes on"
    chunks_when_answered = worker.chunks
    report = await planning
    assert chunks_when_answered < report.chunks
    with harness.db() as db:
        assert db.scalar(select(ReplanRequest.id)) is None
        assert db.scalar(select(AttendanceRecord.id)) is not None


async def _until(condition) -> None:  # type: ignore[no-untyped-def]
    while not condition():
        await asyncio.sleep(0)


async def test_a_stop_between_chunks_hands_the_request_back_and_a_restart_goes_on(harness):
    _daily(harness, aspirants=30)
    request_id = _request_city_wide(harness)
    first = PlanningWorker(harness.runtime, name="first", chunk=4,
                           should_stop=lambda: first.chunks >= 2)  # e.g. SIGTERM
    report = await first.drain()
    assert (report.stopped, report.chunks, report.requests) == (True, 2, 0)
    with harness.db() as db:
        request = db.get(ReplanRequest, request_id)
        # Handed back at once, with its place kept.
        assert (request.claimed_by, request.lease_until) == (None, None)
        assert (request.phase, request.after_id) == ("enrolments", 8)
    resumed = await PlanningWorker(harness.runtime, name="second", chunk=4).drain()
    assert (resumed.requests, resumed.stopped) == (1, False)
    assert report.chunks + resumed.chunks == 30 // 4 + 1
    with harness.db() as db:
        assert bulk.plan_all(db, harness.clock.now(), bulk.Scope.of(None, [EventKind.CHECK_IN]),
                             "check").created == 0  # nothing was left out


def test_a_crashed_instance_s_request_is_taken_over_when_its_lease_runs_out(sessions, clock):
    now = clock.now()
    with unit_of_work(sessions) as db:
        cohort(db, now, aspirants=20)
        reminders.refresh_centre(db, now, None, inline_limit=0)
    started = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    with unit_of_work(sessions) as db:
        request_id = replan_requests.claim(db, "crashed", started)
        assert replan_requests.advance(db, now, request_id, "crashed", started, size=3).counts.events
    # It never comes back. While its lease runs, nobody else takes the request.
    with unit_of_work(sessions) as db:
        assert replan_requests.claim(db, "other", started + timedelta(seconds=59)) is None
        later = started + replan_requests.LEASE + timedelta(seconds=1)
        assert replan_requests.claim(db, "other", later) == request_id
    with unit_of_work(sessions) as db:
        while not replan_requests.advance(db, now, request_id, "other", later, size=3).done:
            pass
    with unit_of_work(sessions) as db:
        # Should the first instance wake up after all, it finds the work is not its own.
        assert replan_requests.advance(db, now, request_id, "crashed", later).lost
        assert bulk.plan_all(db, now, ALL, "check").created == 0


def test_a_newer_change_joins_the_open_request_and_starts_its_pass_over(sessions, clock):
    now = clock.now()
    real = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    with unit_of_work(sessions) as db:
        cohort(db, now, aspirants=20)
        reminders.refresh_centre(db, now, None, kinds=[EventKind.CHECK_IN], inline_limit=0)
    with unit_of_work(sessions) as db:
        request_id = replan_requests.claim(db, "w", real)
        for _ in range(2):
            replan_requests.advance(db, now, request_id, "w", real, size=3)
        assert db.get(ReplanRequest, request_id).after_id > 0
    with unit_of_work(sessions) as db:
        # The quiet hours change while the pass is under way: every kind, from the start.
        reminders.refresh_centre(db, now, None, reason="settings_changed", inline_limit=0)
        [request] = db.scalars(select(ReplanRequest)).all()
        assert request.id == request_id and request.generation == 1
        assert (request.phase, request.after_id, request.reason) == (
            "bookings", 0, "settings_changed")
        assert set(request.kinds.split(",")) == {kind.value for kind in EventKind}
    with unit_of_work(sessions) as db:
        while not replan_requests.advance(db, now, request_id, "w", real, size=3).done:
            pass
        assert bulk.plan_all(db, now, ALL, "check").created == 0


async def test_the_running_bot_starts_the_pass_after_the_commit_and_stops_it_on_sigterm(
        harness):
    """Installed as ``jobbot run`` installs it: the pass starts by itself right after the
    commit that recorded it; stopping the application (what SIGTERM does) ends it between
    chunks and hands the request back."""
    _daily(harness, aspirants=30)
    worker = planning_jobs.install(harness.app)
    worker.chunk = 2
    await harness.app.start()
    try:
        request_id = _request_city_wide(harness)  # commits: the pass starts by itself
        await asyncio.wait_for(_until(lambda: worker.chunks >= 2), timeout=30)
    finally:
        await harness.app.stop()
    assert worker.task is not None and worker.task.done()
    with harness.db() as db:
        request = db.get(ReplanRequest, request_id)
        assert request is not None and request.claimed_by is None
        assert 0 < request.after_id < 30

    await harness.app.start()
    try:
        # A newer change from elsewhere (a command-line tool) is picked up as well.
        worker.kick()
        await asyncio.wait_for(worker.task, timeout=30)
    finally:
        await harness.app.stop()
    with harness.db() as db:
        assert db.scalar(select(ReplanRequest.id)) is None
        assert bulk.plan_all(db, harness.clock.now(), ALL, "check").created == 0


# --- structure -----------------------------------------------------------------------------
def _module_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body:  # module level only: what runs at import
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_re_planning_sits_in_no_import_cycle():
    """Rules, settings, the attendance policy and closed days call the planner; the planner
    reads what it needs without importing them back."""
    modules = {}
    for path in (ROOT / "bot").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph = {name: {m for m in _module_imports(path) if m in modules and m != name}
             for name, path in modules.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                if nxt == goal:
                    return True
                seen.add(nxt)
                todo.append(nxt)
        return False

    planner = "bot.services.reminders.planner"
    for caller in ("bot.services.reminders.rules", "bot.services.reminders.settings",
                   "bot.services.attendance.policy", "bot.services.centres.closed_days",
                   "bot.services.sessions.info_sessions"):
        assert planner in graph[caller]
    in_cycle = sorted(name for name in graph
                      if name.startswith("bot.services.reminders") and reaches(name, name))
    assert in_cycle == []
    # And no function imports the planner to hide one.
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and inner.module and \
                            inner.module.startswith("bot.services.reminders"):
                        pytest.fail(f"{name}.{node.name} imports {inner.module} inside")


def test_each_planning_step_reads_by_an_index(sqlite_url, clock):
    """On SQLite's query plans: no statement of a chunk scans a table that grows with the
    city (outbox, enrolments of other centres, records, milestones, bookings)."""
    engine = make_engine(sqlite_url)
    sessions = make_session_factory(engine)
    now = clock.now()
    with unit_of_work(sessions) as db:
        ids = cohort(db, now, aspirants=30)
        bulk.plan_all(db, now, ALL, "rule_changed")
        for rule in db.scalars(select(ReminderRule)):  # so that rows are cancelled and added
            rule.offset_minutes -= 5
    statements: list[tuple[str, object]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    with unit_of_work(sessions) as db:
        for scope in (bulk.Scope.of(ids["centres"][1]), bulk.Scope.of(None, [EventKind.CHECK_IN])):
            position = bulk.first_position(scope)
            while position is not None:
                position, _ = bulk.plan_chunk(db, now, scope, position, "rule_changed", size=4)
    event.remove(engine, "before_cursor_execute", seen)
    # How each table that grows with the city may be read: by its key or these indexes.
    allowed = {
        "outbox_message": ("ix_outbox_message_event_key",),
        "enrolment": ("ix_enrolment_centre_open", "ix_enrolment_active"),
        "attendance_record": ("sqlite_autoindex_attendance_record_1",),
        "absence_report": ("ix_absence_report_enrolment_id",),
        "plan_milestone": ("ix_plan_milestone_enrolment_id",),
        "booking": ("ix_booking_info_session_id",),
        "info_session": ("ix_info_session_job_centre_id", "ix_info_session_starts_at"),
        "role_grant": ("ix_role_grant_role",),
        "aspirant": (), "coach": (), "person": (),
    }
    scans = set()
    with engine.connect() as connection:
        for statement, parameters in statements:
            many = isinstance(parameters, list)
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                  parameters[0] if many else parameters):
                detail = row[-1]
                words = detail.split()
                if words[0] not in ("SCAN", "SEARCH") or words[1] not in allowed:
                    continue
                if "INTEGER PRIMARY KEY" in detail or any(
                        f"INDEX {index} " in detail for index in allowed[words[1]]):
                    continue
                scans.add(detail)
    engine.dispose()
    assert scans == set()
