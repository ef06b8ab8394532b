"""The city's figures, each computed from a small cohort made through the services and
checked against values worked out by hand (in the comments)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from bot.models import FollowUpOutcome, Role
from bot.services.centres import org_settings
from bot.services.figures import figures
from bot.services.people import demographics, enrolments
from bot.services.plans import follow_ups, milestones
from tests import factories
from tests.attendance_support import enrol
from tests.conftest import local

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture
def kista(db, clock):  # type: ignore[no-untyped-def]
    now = clock.now()
    centre = factories.centre(db, now)
    coach = factories.staff(db, now, Role.COACH, centre, name="Karin")
    return centre, coach


def _aspirant(db, at, centre, coach, name, *, intake=None):  # type: ignore[no-untyped-def]
    person, enrolment = enrol(db, at, centre, coach, name, required=False, intake=None)
    if intake is not None:
        milestones.on_info_session_attended(db, at, enrolment.id, intake)
    return person, enrolment


def _first(db, enrolment):  # type: ignore[no-untyped-def]
    return next(m for m in milestones.plan_of(db, enrolment.id)
                if m.kind == milestones.MilestoneKind.FIRST_PLAN)


def _centre_figures(report):  # type: ignore[no-untyped-def]
    (only,) = report.centres
    return only


def test_the_five_day_guarantee_counts_work_measures_and_exits_right(db, kista):
    centre, coach = kista
    monday = date(2026, 3, 2)  # every intake but Hana's; the first plan is due Monday 9 March
    at = local(2026, 3, 2, 12, 0)
    people = {name: _aspirant(db, at, centre, coach, name, intake=monday)
              for name in ("Ali", "Bea", "Cem", "Dina", "Emil", "Fatma", "Gul")}
    # Ali: both signed on Friday 6 March -> met by the plan, 4 working days.
    ali = _first(db, people["Ali"][1])
    milestones.mark_done(db, local(2026, 3, 6, 10, 0), ali.id, actor=coach)
    milestones.confirm(db, local(2026, 3, 6, 11, 0), people["Ali"][0], ali.id, agree=True)
    # Bea: the coach signed on Friday, Bea only on Tuesday 10 March -> late (6 working days).
    bea = _first(db, people["Bea"][1])
    milestones.mark_done(db, local(2026, 3, 6, 10, 0), bea.id, actor=coach)
    milestones.confirm(db, local(2026, 3, 10, 9, 0), people["Bea"][0], bea.id, agree=True)
    # Cem: left for work on Thursday 5 March -> met by work, and a job within five days.
    enrolments.close(db, local(2026, 3, 5, 14, 0), coach, people["Cem"][1].id, "work")
    # Dina: left for studies on Wednesday 11 March, after the deadline -> missed.
    enrolments.close(db, local(2026, 3, 11, 14, 0), coach, people["Dina"][1].id, "studies")
    # Emil: a measure started on Wednesday 4 March -> met by a measure.
    milestones.record_measure(db, local(2026, 3, 4, 9, 0), _first(db, people["Emil"][1]).id,
                              actor=coach)
    # Fatma: sent back to the district office on Tuesday 3 March -> left out.
    enrolments.close(db, local(2026, 3, 3, 9, 0), coach, people["Fatma"][1].id, "returned")
    # Gul: the coach signed, Gul has not -> missed, and waiting for her confirmation.
    milestones.mark_done(db, local(2026, 3, 9, 9, 0), _first(db, people["Gul"][1]).id,
                         actor=coach)
    # Hana: intake Thursday 12 March, due Thursday 19 March: not yet due on 16 March.
    _aspirant(db, local(2026, 3, 12, 9, 0), centre, coach, "Hana", intake=date(2026, 3, 12))
    # Ivan: enrolled, no intake recorded.
    _aspirant(db, local(2026, 3, 10, 9, 0), centre, coach, "Ivan")

    # Made on Monday 16 March for the whole of March (a period running past today).
    found = _centre_figures(figures.compute(db, *MARCH, today=date(2026, 3, 16))).first_plan
    # Decided: Ali, Bea, Cem, Dina, Emil, Gul; met: Ali, Cem, Emil.
    assert (found.on_time.hits, found.on_time.total) == (3, 6)
    assert dict(found.met_by) == {"plan": 1, "work": 1, "measure": 1}
    assert (found.pending, found.left_before_due, found.awaiting_confirmation) == (1, 1, 1)
    assert (found.job_within_five_days.hits, found.job_within_five_days.total) == (1, 6)
    assert found.median_days == 5  # Ali 4, Bea 6 working days from the intake
    report = figures.compute(db, *MARCH, today=date(2026, 3, 16))
    assert _centre_figures(report).enrolled_without_intake == 1
    # Once March is over, Hana's deadline has passed too (and she has not met it).
    later = _centre_figures(figures.compute(db, *MARCH, today=date(2026, 4, 1))).first_plan
    assert (later.on_time.hits, later.on_time.total, later.pending) == (3, 7, 0)


def test_closed_within_twelve_months_not_counting_those_sent_back(db, clock, kista):
    centre, coach = kista

    def aspirant(name, enrolled):  # type: ignore[no-untyped-def]
        return _aspirant(db, local(*enrolled, 9, 0), centre, coach, name)[1]

    a1 = aspirant("A1", (2025, 3, 3))
    enrolments.close(db, local(2025, 9, 1, 9, 0), coach, a1.id, "work")  # within: closed
    a2 = aspirant("A2", (2025, 3, 10))
    enrolments.close(db, local(2026, 3, 10, 9, 0), coach, a2.id, "other")  # on the day: closed
    a3 = aspirant("A3", (2025, 3, 17))
    enrolments.close(db, local(2025, 6, 1, 9, 0), coach, a3.id, "returned")  # left out
    aspirant("A4", (2025, 3, 24))  # still enrolled after its twelve months: not closed
    a5 = aspirant("A5", (2025, 3, 5))
    enrolments.close(db, local(2026, 3, 20, 9, 0), coach, a5.id, "studies")  # too late
    aspirant("A6", (2025, 2, 4))  # twelve months end in February: not in March's cohort
    aspirant("A7", (2025, 3, 31))  # twelve months end 31 March: not over on 28 March
    found = _centre_figures(figures.compute(db, *MARCH, today=date(2026, 3, 28)))
    # Cohort: A1, A2, A4, A5; closed: A1, A2.
    closed = found.closed_within_12_months
    assert (closed.hits, closed.total) == (2, 4)
    after = _centre_figures(figures.compute(db, *MARCH, today=date(2026, 4, 1)))
    assert (after.closed_within_12_months.hits, after.closed_within_12_months.total) == (2, 5)


def test_self_supporting_six_months_after_leaving(db, clock, kista):
    centre, coach = kista
    left = {}
    for name, enrolled, leaving, reason in (
            ("B1", (2025, 8, 1), (2025, 9, 2), "work"),      # due Mon 2 March 2026
            ("B2", (2025, 8, 1), (2025, 9, 10), "studies"),  # due Tue 10 March
            ("B3", (2025, 8, 1), (2025, 9, 15), "other"),    # 15 March is a Sunday: 16th
            ("B4", (2025, 8, 1), (2025, 9, 22), "work"),     # 22 March is a Sunday: 23rd
            ("B5", (2025, 8, 1), (2025, 9, 3), "returned")):  # sent back: no follow-up
        _, enrolment = _aspirant(db, local(*enrolled, 9, 0), centre, coach, name)
        enrolments.close(db, local(*leaving, 9, 0), coach, enrolment.id, reason)
        left[name] = enrolment
    scheduled = {e.id: f for f, e in follow_ups.due_for(db, coach, date(2026, 12, 31))}
    assert sorted(f.due_on for f in scheduled.values()) == [
        date(2026, 3, 2), date(2026, 3, 10), date(2026, 3, 16), date(2026, 3, 23)]
    assert left["B5"].id not in scheduled
    for name, outcome in (("B1", FollowUpOutcome.SELF_SUPPORTING),
                          ("B2", FollowUpOutcome.NOT_SELF_SUPPORTING),
                          ("B3", FollowUpOutcome.UNKNOWN)):
        follow_up = scheduled[left[name].id]
        follow_ups.record(db, local(2026, 3, 25, 9, 0), coach, follow_up.id, outcome,
                          today=date(2026, 3, 25))
    found = _centre_figures(figures.compute(db, *MARCH, today=date(2026, 4, 1))).follow_ups
    assert (found.self_supporting.hits, found.self_supporting.total) == (1, 2)
    assert (found.could_not_find_out, found.not_recorded) == (1, 1)


def test_time_enrolled_until_work_or_studies_for_16_to_24_by_gender_and_age(db, clock, kista):
    centre, coach = kista
    org_settings.set_value(db, clock.now(), org_settings.RECORD_GENDER_AND_AGE, True,
                           actor=None)
    for name, born, gender, enrolled, leaving, reason in (
            ("Y1", 2004, "woman", (2025, 12, 1), (2026, 3, 2), "work"),    # 22: 91 days
            ("Y2", 2002, "man", (2026, 1, 15), (2026, 3, 16), "studies"),  # 24: 60 days
            ("O1", 1990, "woman", (2026, 3, 1), (2026, 3, 12), "work"),    # 36: 11 days
            ("Y3", 2005, "man", (2026, 1, 1), (2026, 3, 4), "returned"),   # not work/studies
            ("Y4", 2001, "man", (2026, 2, 20), (2026, 3, 20), "work")):    # 25: 28 days
        _, enrolment = _aspirant(db, local(*enrolled, 9, 0), centre, coach, name)
        demographics.record_birth_year(db, clock.now(), coach, enrolment.id, born)
        demographics.record_gender(db, clock.now(), coach, enrolment.id, gender)
        enrolments.close(db, local(*leaving, 9, 0), coach, enrolment.id, reason)
    report = figures.compute(db, *MARCH, groups=True)
    found = _centre_figures(report)
    assert sorted(found.young_days_to_work_or_studies) == [60, 91]
    assert found.young_mean_days_to_work_or_studies == 75.5
    assert found.mean_days_to_work_or_studies == 47.5  # (91 + 60 + 11 + 28) / 4
    assert sorted(report.by_gender["woman"].days_to_work_or_studies) == [11, 91]
    assert report.by_gender["man"].young_days_to_work_or_studies == [60]
    assert sorted(report.by_age_band["16-24"].days_to_work_or_studies) == [60, 91]
    assert report.by_age_band["25-29"].young_days_to_work_or_studies == []


def test_report_columns_are_the_same_whatever_the_data(monkeypatch, capsys, tmp_path):
    from bot.cli import main
    from bot.cli_report import COLUMNS
    from bot.db import make_engine, make_session_factory, unit_of_work
    from bot.services.centres import centres

    url = f"sqlite:///{tmp_path}/jobbot.sqlite3"
    monkeypatch.setenv("JOBBOT_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["report", "--from", "2026-03-01", "--to", "2026-03-31"]) == 0
    empty = capsys.readouterr().out
    assert next(csv.reader(io.StringIO(empty))) == list(COLUMNS)
    with unit_of_work(make_session_factory(make_engine(url))) as db:
        now = local(2026, 3, 1, 8, 0)
        centre = centres.create(db, now, name="Jobbtorg Kista")
        coach = factories.staff(db, now, Role.COACH, centre, name="Karin")
        _, enrolment = _aspirant(db, now, centre, coach, "Ali", intake=date(2026, 3, 2))
        enrolments.close(db, local(2026, 3, 4, 9, 0), coach, enrolment.id, "work")
    assert main(["report", "--from", "2026-03-01", "--to", "2026-03-31"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(table[0]) == list(COLUMNS)
    assert table[0]["first_plan_met_by_work"] == "1" and table[0]["job_within_five_days"] == "1"
    assert "absence_days_sick_child" in COLUMNS and "messages_skipped_reasons" in COLUMNS
