"""``jobbot config export|import|example``: the configuration as a YAML file.

An export imported into an empty database exports the same again; the example sets up
the job centre it describes; a bad file changes nothing and names every problem with
its place; importing twice adds nothing; a dry run changes nothing.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cli import main
from bot.config import example_text
from bot.config.export import export_config
from bot.config.importer import import_config
from bot.config.schema import ConfigRejected
from bot.config.yaml_text import ConfigUnreadable
from bot.db import make_engine, make_session_factory, unit_of_work
from bot.models import (
    AttendancePolicy,
    Audience,
    AuditEntry,
    Base,
    ClosedDay,
    EventKind,
    InfoSession,
    JobCentre,
    ReminderRule,
    Role,
)
from bot.services.attendance import policy as attendance_policy
from bot.services.centres import centres, closed_days, org_settings
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders import settings as reminder_settings
from bot.services.sessions import info_sessions
from tests import factories
from tests.conftest import STOCKHOLM, local

CONFIGURATION = (JobCentre, ClosedDay, AttendancePolicy, ReminderRule, InfoSession)


def _counts(db: Session) -> dict[str, int]:
    return {model.__tablename__: db.scalar(select(func.count()).select_from(model)) or 0
            for model in (*CONFIGURATION, AuditEntry)}


def _empty_the_database(db: Session) -> None:
    for table in reversed(Base.metadata.sorted_tables):
        db.execute(table.delete())
    db.flush()
    db.expunge_all()


def _local_starts(db: Session, centre_id: int) -> list[tuple[datetime, str]]:
    sessions = db.scalars(select(InfoSession).where(InfoSession.job_centre_id == centre_id)
                          .order_by(InfoSession.starts_at))
    return [(s.starts_at.astimezone(STOCKHOLM).replace(tzinfo=None), s.language)
            for s in sessions]


# --- export and import ----------------------------------------------------------------------
def test_export_then_import_into_an_empty_database_exports_the_same(db, clock):
    now = clock.now()
    kista = factories.centre(db, now)
    other = centres.create(db, now, name="Jobbtorg Skärholmen", address="Skärholmsvägen 3",
                           timezone="Europe/Stockholm")
    centres.set_disabled(db, now, other, True, actor=None)
    org_settings.set_value(db, now, org_settings.RETENTION_DAYS, 400, actor=None)
    org_settings.set_value(db, now, org_settings.RECORD_GENDER_AND_AGE, True, actor=None)
    reminder_rules.install_defaults(db, now)
    check_in = next(rule for rule in reminder_rules.listed(db)
                    if rule.event_kind == EventKind.CHECK_IN)
    reminder_rules.set_enabled(db, now, check_in.id, False)
    reminder_rules.create(db, now, reminder_rules.RuleSpec(
        EventKind.INFO_SESSION, Audience.ASPIRANT, offset_days=-1, offset_minutes=-30,
        texts={"sv": "Hej {name}!\nVi ses {date} kl. {time}.", "ar": "مرحبا {name}"}),
        job_centre=kista)
    own = reminder_rules.create(db, now, reminder_rules.RuleSpec(
        EventKind.REVIEW, Audience.COACH, offset_days=-5, working_days=True,
        at_local_time=time(8, 15)), job_centre=kista)
    reminder_rules.set_enabled(db, now, own.id, False)
    closed_days.add(db, now, kista, date(2026, 4, 30), "Staff training day", actor=None)
    closed_days.add(db, now, kista, date(2026, 3, 20), "", actor=None)
    reminder_settings.update(db, now, kista, quiet_start=time(21, 0), quiet_end=time(7, 30),
                             quiet_weekends=True, deadline_calendar_days=True)
    attendance_policy.update(db, now, kista, actor=None, weekdays="1234",
                             window_start=time(9, 0), window_end=time(10, 30), grace_minutes=10,
                             location_rule="alternative", radius_m=300, digest_time=None)
    started = factories.session(db, now, kista, local(2026, 3, 2, 9, 0))
    cancelled = factories.session(db, now, kista, local(2026, 3, 4, 10, 0))
    info_sessions.cancel(db, now, cancelled.id)
    factories.session(db, now, kista, local(2026, 3, 3, 10, 0), capacity=12)
    factories.session(db, now, kista, local(2026, 3, 31, 13, 30), capacity=8, language="ar",
                      duration=timedelta(minutes=90), place="Kista Galleria, floor 3",
                      latitude=59.4030, longitude=17.9430)
    # People are not configuration: none of them may reach the file.
    coach = factories.staff(db, now, Role.COACH, kista, name="Zlatan Secretsson")
    factories.aspirant_invite(db, now, kista, coach=coach)
    clock.advance(timedelta(hours=1, minutes=30))
    later = clock.now()
    assert started.starts_at < later

    exported = export_config(db, later)
    assert export_config(db, later) == exported  # stable
    assert "Secretsson" not in exported and "secret" not in exported
    assert "2026-03-02T09:00" not in exported and "2026-03-04T10:00" not in exported
    assert "  - start: '2026-03-03T10:00'" in exported

    _empty_the_database(db)
    summary = import_config(db, later, exported)
    assert summary.count("information session", "created") == 2
    assert export_config(db, later) == exported
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "config.import")).actor_id is None


def test_the_example_sets_up_the_job_centre_it_describes(db):
    # The Monday before Easter: Good Friday (3 April) and Easter Monday (6 April) are
    # public holidays within the three weeks of the example's schedule.
    now = local(2026, 3, 30, 8, 0)
    import_config(db, now, example_text())

    centre = centres.by_name(db, "Jobbtorg Kista")
    assert centre is not None and centre.disabled_at is None
    assert (centre.address, centre.latitude, centre.longitude, centre.timezone) == (
        "Kistagången 2, 164 40 Kista", 59.4032, 17.9448, "Europe/Stockholm")
    swedish = [date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 2), date(2026, 4, 7),
               date(2026, 4, 8), date(2026, 4, 9), date(2026, 4, 10), date(2026, 4, 13),
               date(2026, 4, 14), date(2026, 4, 15), date(2026, 4, 16), date(2026, 4, 17),
               date(2026, 4, 20)]
    arabic = [date(2026, 4, 1), date(2026, 4, 8), date(2026, 4, 15)]
    assert _local_starts(db, centre.id) == sorted(
        [(datetime.combine(day, time(10, 0)), "sv") for day in swedish]
        + [(datetime.combine(day, time(13, 30)), "ar") for day in arabic])
    session = db.scalar(select(InfoSession).limit(1))
    assert (session.capacity, session.ends_at - session.starts_at, session.place) == (
        12, timedelta(hours=2), centre.address)

    rules = reminder_rules.listed(db, centre.id)
    assert all(rule.job_centre_id is None and rule.enabled for rule in rules)
    assert sorted(repr(reminder_rules.spec_of(rule)) for rule in rules) == sorted(
        repr(spec) for spec in reminder_rules.default_rules())

    policy = db.scalar(select(AttendancePolicy).where(AttendancePolicy.job_centre_id == centre.id))
    assert (policy.weekdays, policy.window_start, policy.window_end, policy.grace_minutes,
            policy.streak_limit, policy.window_limit, policy.window_days) == (
        "12345", time(8, 30), time(10, 0), 15, 2, 3, 10)
    quiet = reminder_settings.for_centre(db, centre.id).quiet
    assert (quiet.start, quiet.end, quiet.weekends) == (time(20, 0), time(8, 0), False)
    assert [day.note for day in closed_days.upcoming(db, centre.id, now.date())][:2] == [
        "Bridge day after Ascension Day", "Staff training day"]
    assert org_settings.get(db, org_settings.RETENTION_DAYS) == 365


def test_a_schedule_skips_the_closed_days_the_file_adds(db, clock):
    text = """
centres:
  - name: Jobbtorg Kista
    closed_days: [{date: 2026-03-04, note: Staff training day}]
    schedule:
      - {weekdays: [tue, wed, thu], time: "09:30", weeks: 1, capacity: 5}
"""
    import_config(db, clock.now(), text)
    centre = centres.by_name(db, "Jobbtorg Kista")
    assert [start for start, _ in _local_starts(db, centre.id)] == [
        datetime(2026, 3, 3, 9, 30), datetime(2026, 3, 5, 9, 30)]


# --- a bad file -----------------------------------------------------------------------------
BAD = """\
version: 1
reminder_rules:
  - {event: info_sesion, audience: aspirant, offset: -1d}
centres:
  - name: Jobbtorg Kista
    address: Kistagången 2, 164 40 Kista
    attendance_policy:
      window_start: "25:00"
    info_sessions:
      - start: 2026-03-10T10:00
        language: xx
        capacity: -5
      - start: 2026-02-27T10:00
  - address: Somewhere 1
    closed_days: [{date: 2026-12-28}]
"""


def test_a_bad_file_changes_nothing_and_names_every_problem(db, clock):
    import_config(db, clock.now(), example_text())
    before = _counts(db)
    with pytest.raises(ConfigRejected) as rejected:
        import_config(db, clock.now(), BAD)
    found = [(p.line, p.path, p.message) for p in rejected.value.problems]
    assert [(line, path) for line, path, _ in found] == [
        (3, "reminder_rules[0].event"),
        (8, "centres[0].attendance_policy.window_start"),
        (11, "centres[0].info_sessions[0].language"),
        (12, "centres[0].info_sessions[0].capacity"),
        (13, "centres[0].info_sessions[1]"),  # checked by the service: in the past
        (14, "centres[1].name"),
    ]
    messages = [message for _, _, message in found]
    assert "'info_session'" in messages[0]
    assert messages[1] == "Not a time of day: 25:00. Write it like 20:00."
    assert messages[2].startswith("Unknown language: xx")
    assert messages[3] == "The capacity must be between 1 and 500."
    assert messages[4] == "The information session must start in the future."
    assert messages[5] == "missing (required)"
    assert _counts(db) == before


def test_every_policy_value_the_service_refuses_is_named(db, clock):
    text = """\
centres:
  - name: Jobbtorg Kista
    attendance_policy:
      grace_minutes: 999
      location_rule: required
      window_end: "10:30"
"""
    with pytest.raises(ConfigRejected) as rejected:
        import_config(db, clock.now(), text)
    assert [str(problem) for problem in rejected.value.problems] == [
        "line 4: centres[0].attendance_policy.grace_minutes: grace_minutes must be a whole "
        "number from 0 to 240.",
        "line 5: centres[0].attendance_policy.location_rule: The job centre has no "
        "coordinates, so locations cannot be checked.",
    ]
    assert centres.by_name(db, "Jobbtorg Kista") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("", "the file is empty"),
    ("# only a comment\n", "the file is empty"),
    ("centres: [\n  - name: x\n", "not valid YAML"),
    ("just some words\n", "not a jobbot configuration"),
    (b"\xff\xfe\x00binary", "not a text file"),
    ("centres: []\ncentres: []\n", "the key centres is written twice (line 2)"),
])
def test_a_file_that_is_not_a_configuration_is_one_clear_line(db, clock, text, expected):
    with pytest.raises(ConfigUnreadable) as error:
        import_config(db, clock.now(), text)
    assert expected in str(error.value) and "\n" not in str(error.value)


# --- importing again ------------------------------------------------------------------------
def test_importing_twice_adds_nothing_and_a_changed_file_updates_in_place(db, clock):
    now = clock.now()
    first = import_config(db, now, example_text())
    counts = _counts(db)
    second = import_config(db, now, example_text())
    assert {o for kind in second.counts.values() for o in +kind} == {"unchanged"}
    assert second.count("information session", "unchanged") == first.count(
        "information session", "created")
    counts["audit_log"] += 1  # the second import itself
    assert _counts(db) == counts

    changed = (example_text()
               .replace("capacity: 12\n      # In Arabic", "capacity: 15\n      # In Arabic")
               .replace("{event: check_in, audience: aspirant, offset: -15m}",
                        "{event: check_in, audience: aspirant, offset: -15m, enabled: false,"
                        " texts: {sv: 'Dags att checka in, {name}!'}}")
               .replace("grace_minutes: 15", "grace_minutes: 20"))
    third = import_config(db, now, changed)
    assert third.count("reminder rule", "updated") == 1
    assert third.count("attendance policy", "updated") == 1
    swedish = len([s for s in db.scalars(select(InfoSession)) if s.language == "sv"])
    assert third.count("information session", "updated") == swedish
    assert {s.capacity for s in db.scalars(select(InfoSession)) if s.language == "sv"} == {15}
    rule = db.scalar(select(ReminderRule).where(ReminderRule.event_kind == EventKind.CHECK_IN))
    assert not rule.enabled and rule.texts == {"sv": "Dags att checka in, {name}!"}
    counts["audit_log"] = _counts(db)["audit_log"]
    assert _counts(db) == counts  # updated in place: no second copy of anything


# --- the command line -----------------------------------------------------------------------
@pytest.fixture
def cli_env(monkeypatch, tmp_path, database_url):
    for key in list(os.environ):
        if key.startswith("JOBBOT_") and not key.startswith("JOBBOT_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("JOBBOT_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_cli_dry_run_import_and_export(cli_env, capsys, tmp_path: Path):
    example = tmp_path / "jobbot.yaml"
    assert main(["config", "example", "--output", str(example)]) == 0
    assert example.read_text(encoding="utf-8") == example_text()

    assert main(["config", "import", str(example), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would change" in out and "job centres: 1 created" in out
    with unit_of_work(cli_env) as db:
        assert _counts(db) == dict.fromkeys(_counts(db), 0)

    assert main(["config", "import", str(example)]) == 0
    assert "reminder rules: 21 created" in capsys.readouterr().out
    assert main(["config", "export"]) == 0
    exported = capsys.readouterr().out
    assert exported.startswith("# jobbot configuration")
    assert "name: Jobbtorg Kista" in exported and "schedule" not in exported
    again = tmp_path / "again.yaml"
    again.write_text(exported, encoding="utf-8")
    assert main(["config", "import", str(again)]) == 0
    assert "created" not in capsys.readouterr().out


def test_cli_bad_file_lists_problems_with_file_and_line(cli_env, capsys, tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    assert main(["config", "import", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{bad}:3: reminder_rules[0].event: ")
    assert f"{bad}:8: centres[0].attendance_policy.window_start: Not a time of day: 25:00. " \
           "Write it like 20:00." in err
    assert err[-1] == f"jobbot: error: {bad}: 6 problem(s); nothing was changed"
    with unit_of_work(cli_env) as db:
        assert Counter(_counts(db).values()) == Counter({0: len(_counts(db))})

    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert main(["config", "import", str(empty)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"jobbot: error: {empty}: the file is empty (start from 'jobbot config example')"]


def test_cli_import_help_says_what_happens_to_things_the_file_leaves_out(capsys):
    with pytest.raises(SystemExit):
        main(["config", "import", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "does not mention is left as it is" in text and "--dry-run" in text
