"""Report figures checked against values worked out by hand on a small seeded data set."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.models import (
    AbsenceReason,
    AbsenceReport,
    AttendanceRecord,
    AttendanceStatus,
    Booking,
    BookingStatus,
    Enrolment,
    MilestoneKind,
    OutboxMessage,
    OutboxStatus,
    PlanMilestone,
    Role,
)
from bot.services.figures import figures
from tests import factories
from tests.conftest import local

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
# The figures are made on the last day of March: a deadline on it has not passed yet.
TODAY = date(2026, 3, 31)


def _aspirant(db, now, centre, coach, name):
    person = factories.staff(db, now, Role.ASPIRANT, centre, name=name)
    enrolment = Enrolment(aspirant_id=person.id, job_centre_id=centre.id, coach_id=coach.id,
                          attendance_required=True, enrolled_at=now)
    db.add(enrolment)
    db.flush()
    return person, enrolment


def _milestone(db, now, enrolment, due, done=None, kind=MilestoneKind.FIRST_PLAN,
               counted_from=date(2026, 3, 2), confirmed=None):
    """A plan milestone; ``done``: the day both signed (the coach at 15:00, the aspirant
    at 16:00), unless ``confirmed`` gives the aspirant's day ("no": not yet)."""
    confirmed = done if confirmed is None else confirmed
    milestone = PlanMilestone(enrolment_id=enrolment.id, kind=kind, due_on=due,
                              counted_from=counted_from, created_at=now,
                              done_at=local(*done, 15, 0) if done else None,
                              confirmed_at=local(*confirmed, 16, 0)
                              if done and confirmed != "no" else None)
    db.add(milestone)
    return milestone


def _day(db, now, enrolment, day, status):
    db.add(AttendanceRecord(enrolment_id=enrolment.id, day=day, status=status, recorded_at=now))


@pytest.fixture
def seeded(db, clock):
    now = clock.now()
    kista = factories.centre(db, now)
    farsta = factories.centre(db, now, name="Jobbtorg Farsta")
    coach = factories.staff(db, now, Role.COACH, kista, name="Karin")
    other_coach = factories.staff(db, now, Role.COACH, farsta, name="Per")
    amina, a = _aspirant(db, now, kista, coach, "Amina")
    bashir, b = _aspirant(db, now, kista, coach, "Bashir")
    cecilia, c = _aspirant(db, now, kista, coach, "Cecilia")
    _dawit, d = _aspirant(db, now, farsta, other_coach, "Dawit")

    # Info session Monday 2 March; five working days later is Monday 9 March.
    _milestone(db, now, a, date(2026, 3, 9), done=(2026, 3, 6))   # 4 working days: on time
    _milestone(db, now, b, date(2026, 3, 9), done=(2026, 3, 11))  # 7 working days: late
    _milestone(db, now, c, date(2026, 3, 9))                      # never done: late
    _milestone(db, now, d, date(2026, 3, 31))                     # due on "today": pending
    _milestone(db, now, a, date(2026, 4, 6), kind=MilestoneKind.DEEPENED_PLAN)  # outside
    _milestone(db, now, a, date(2026, 3, 20), done=(2026, 3, 20),
               kind=MilestoneKind.DEEPENED_PLAN)                  # on time

    # Amina: present Mon-Wed, then unexcused Thu, Fri and (after the weekend) Mon.
    for day in (2, 3, 4):
        _day(db, now, a, date(2026, 3, day), AttendanceStatus.PRESENT)
    for day in (5, 6, 9):
        _day(db, now, a, date(2026, 3, day), AttendanceStatus.UNEXCUSED)
    # Bashir: present, excused, unexcused, present, unexcused: longest streak 1.
    for day, status in ((2, AttendanceStatus.PRESENT), (3, AttendanceStatus.EXCUSED),
                        (4, AttendanceStatus.UNEXCUSED), (5, AttendanceStatus.PRESENT),
                        (6, AttendanceStatus.UNEXCUSED)):
        _day(db, now, b, date(2026, 3, day), status)
    # Outside the period: not counted.
    _day(db, now, b, date(2026, 4, 1), AttendanceStatus.UNEXCUSED)
    db.add(AbsenceReport(enrolment_id=b.id, first_day=date(2026, 3, 3), last_day=date(2026, 3, 3),
                         reason=AbsenceReason.SICK_CHILD, reported_at=now))
    # Ill from Thursday 26 March to Wednesday 1 April: 4 working days fall in March.
    db.add(AbsenceReport(enrolment_id=c.id, first_day=date(2026, 3, 26),
                         last_day=date(2026, 4, 1), reason=AbsenceReason.ILL, reported_at=now))

    session = factories.session(db, now, kista, local(2026, 3, 2, 9, 30))
    for person, status in ((amina, BookingStatus.ATTENDED), (bashir, BookingStatus.ATTENDED),
                           (cecilia, BookingStatus.NO_SHOW)):
        db.add(Booking(info_session_id=session.id, aspirant_id=person.id, status=status,
                       created_at=now, updated_at=now))

    def message(person, status, reason=None, due=now + timedelta(days=1)):
        db.add(OutboxMessage(recipient_id=person.id, kind="reminder", template="x", params={},
                             due_at=due, status=status, skip_reason=reason, created_at=now))

    message(amina, OutboxStatus.SENT)
    message(bashir, OutboxStatus.SENT)
    message(cecilia, OutboxStatus.FAILED)
    message(cecilia, OutboxStatus.SKIPPED, "expired")
    message(coach, OutboxStatus.SENT)
    message(amina, OutboxStatus.SENT, due=local(2026, 4, 2, 9, 0))  # outside the period
    db.flush()
    return {"kista": kista.id, "farsta": farsta.id, "coach": coach.id}


def test_figures_per_centre_match_hand_counts(db, seeded):
    report = figures.compute(db, *MARCH, today=TODAY)
    by_name = {f.name: f for f in report.centres}
    kista = by_name["Jobbtorg Kista"]

    assert (kista.first_plan.on_time.hits, kista.first_plan.on_time.total) == (1, 3)
    assert kista.first_plan.median_days == 5.5  # median of 4 and 7 working days
    assert kista.first_plan.pending == 0
    assert (kista.deepened_plan.on_time.hits, kista.deepened_plan.on_time.total) == (1, 1)
    # 3 + 2 present out of 6 + 5 recorded days.
    assert (kista.attendance.hits, kista.attendance.total) == (5, 11)
    assert sorted(kista.longest_unexcused_streaks) == [1, 3]  # Fri -> Mon is consecutive
    assert kista.aspirants_with_streak(2) == 1
    assert kista.absence_days_by_reason == {"sick_child": 1, "ill": 4}
    assert (kista.session_no_shows.hits, kista.session_no_shows.total) == (1, 3)
    assert kista.reminders == {"sent": 3, "failed": 1, "skipped:expired": 1}

    farsta = by_name["Jobbtorg Farsta"]
    assert farsta.first_plan.on_time.total == 0 and farsta.first_plan.pending == 1
    assert report.total.first_plan.on_time.rate == pytest.approx(1 / 3)


def test_a_coach_sees_only_their_caseload(db, seeded):
    report = figures.compute(db, *MARCH, coach_id=seeded["coach"], today=TODAY)
    kista = next(f for f in report.centres if f.name == "Jobbtorg Kista")
    assert kista.first_plan.on_time.total == 3
    # Messages to staff are not part of a caseload's figures.
    assert kista.reminders == {"sent": 2, "failed": 1, "skipped:expired": 1}
    farsta = next(f for f in report.centres if f.name == "Jobbtorg Farsta")
    assert farsta.first_plan.pending == 0 and farsta.attendance.total == 0


def test_weekly_series_for_the_chart(db, seeded):
    report = figures.compute(db, *MARCH)
    monday = date(2026, 3, 2)
    assert (report.weekly_attendance[monday].hits, report.weekly_attendance[monday].total) == (
        5, 10)
    week_of_deadline = date(2026, 3, 9)
    assert report.weekly_first_plan[week_of_deadline].total == 3


def test_an_inverted_period_is_refused(db):
    with pytest.raises(ValueError):
        figures.compute(db, date(2026, 3, 31), date(2026, 3, 1))


def test_report_command_line_csv_and_json(monkeypatch, capsys, tmp_path):
    import csv
    import io
    import json

    from bot.cli import main
    from bot.db import make_engine, make_session_factory, unit_of_work
    from bot.services.centres import centres

    url = f"sqlite:///{tmp_path}/jobbot.sqlite3"
    monkeypatch.setenv("JOBBOT_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    with unit_of_work(make_session_factory(make_engine(url))) as db:
        centres.create(db, local(2026, 3, 1, 8, 0), name="Jobbtorg Kista")
    capsys.readouterr()
    assert main(["report", "--from", "2026-03-01", "--to", "2026-03-31"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["centre"] for r in table] == ["Jobbtorg Kista", "ALL"]
    assert table[0]["first_plan_due"] == "0" and table[0]["first_plan_on_time_rate"] == ""
    assert main(["report", "--from", "2026-03-01", "--to", "2026-03-31", "--format",
                 "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["from"] == "2026-03-01" and data["centres"][0]["centre"] == "Jobbtorg Kista"
    assert main(["report", "--from", "2026-03-31", "--to", "2026-03-01"]) == 1
    assert "--to is before --from" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "--from", "March", "--to", "2026-03-01"])
    assert "not a date" in capsys.readouterr().err


async def test_report_in_chat_for_a_coach_with_chart(harness):
    now = harness.clock.now()
    coach_phone = harness.phone("Karin", "en")
    with harness.db() as db:
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, Role.COACH, centre, language="en",
                                telegram_user_id=coach_phone.id)
        _person, enrolment = _aspirant(db, now, centre, coach, "Amina")
        _milestone(db, now, enrolment, date(2026, 2, 20), done=(2026, 2, 19),
                   counted_from=date(2026, 2, 13))
        _day(db, now, enrolment, date(2026, 2, 27), AttendanceStatus.PRESENT)
        _day(db, now, enrolment, date(2026, 2, 26), AttendanceStatus.UNEXCUSED)
    replies = await coach_phone.send("/report")
    text = replies[0]["text"]
    assert text.startswith("Figures for your aspirants,")
    assert "Plan, work or a measure within 5 working days of the intake: 100 % (1 of 1)" in text
    assert "by plan 1, work 0, studies 0, a measure 0; not yet due 0" in text
    assert "Median working days to the first plan: 4" in text
    assert "Attendance: 50 % (1 of 2)" in text
    photo = replies[-1]
    assert photo["caption"] == "Attendance, and the five-day guarantee met"
    assert harness.emulator.files[photo["photo"][0]["file_id"]][1].startswith(b"\x89PNG")
    # Aspirants have no figures.
    aspirant = harness.phone("Amina", "en")
    await aspirant.send("/report")
    assert aspirant.last_text.startswith("I don't know you yet.")


def test_figures_by_gender_and_age_band(db, seeded, clock):
    from bot.models import Person

    people_by_name = {p.display_name: p for p in db.scalars(select(Person))}
    people_by_name["Amina"].gender, people_by_name["Amina"].birth_year = "woman", 1999  # 27
    people_by_name["Bashir"].gender, people_by_name["Bashir"].birth_year = "man", 2004  # 22
    db.flush()
    report = figures.compute(db, *MARCH, groups=True, today=TODAY)
    woman, man = report.by_gender["woman"], report.by_gender["man"]
    assert (woman.first_plan.on_time.hits, woman.first_plan.on_time.total) == (1, 1)
    assert (man.first_plan.on_time.hits, man.first_plan.on_time.total) == (0, 1)
    assert (woman.attendance.hits, woman.attendance.total) == (3, 6)
    assert (man.attendance.hits, man.attendance.total) == (2, 5)
    unknown = report.by_gender[figures.NOT_RECORDED]
    assert unknown.first_plan.on_time.total == 1 and unknown.first_plan.pending == 1
    assert report.by_gender["other"].first_plan.on_time.total == 0
    assert report.by_age_band["25-29"].first_plan.on_time.hits == 1
    assert report.by_age_band["16-24"].attendance.total == 5
    # Without the switch there are no groups at all.
    assert figures.compute(db, *MARCH).by_gender == {}


def test_demographics_are_recorded_only_when_switched_on(db, clock):
    from bot.errors import DomainError
    from bot.services.centres import org_settings
    from bot.services.people import demographics

    now = clock.now()
    centre = factories.centre(db, now)
    coach = factories.staff(db, now, Role.COACH, centre, name="Karin")
    _person, enrolment = _aspirant(db, now, centre, coach, "Amina")
    with pytest.raises(DomainError):
        demographics.record_gender(db, now, coach, enrolment.id, "woman")
    org_settings.set_value(db, now, org_settings.RECORD_GENDER_AND_AGE, True, actor=None)
    person = demographics.record_gender(db, now, coach, enrolment.id, "woman")
    assert person.gender == "woman"
    with pytest.raises(DomainError):
        demographics.record_gender(db, now, coach, enrolment.id, "robot")
    today = date(2026, 3, 2)
    for bad in ("90", "19x0", "1900", "2015", "²²²²", "1⁹⁹0"):
        with pytest.raises(DomainError):
            demographics.parse_birth_year(bad, today)
    assert demographics.parse_birth_year("1990", today) == 1990
    # Typed with the digits of the person's own script.
    assert demographics.parse_birth_year("١٩٩٠", today) == 1990
    assert demographics.parse_birth_year("۱۹۹۰", today) == 1990
    assert demographics.parse_birth_year("-", today) is None
    assert [demographics.age_band(y, today) for y in (2011, 2008, 2001, 1996, 1976, None)] == [
        None, "16-24", "25-29", "30-49", "50+", None]
    # Another coach's aspirant is out of reach.
    other = factories.staff(db, now, Role.COACH, factories.centre(db, now, name="Jobbtorg Farsta"))
    with pytest.raises(DomainError):
        demographics.record_birth_year(db, now, other, enrolment.id, 1990)


async def test_a_coach_records_gender_and_year_in_the_caseload(harness):
    from bot.models import Person
    from bot.services.centres import org_settings

    now = harness.clock.now()
    coach_phone = harness.phone("Karin", "en")
    with harness.db() as db:
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, Role.COACH, centre, language="en",
                                telegram_user_id=coach_phone.id)
        person, enrolment = _aspirant(db, now, centre, coach, "Amina")
        person_id, enrolment_id = person.id, enrolment.id
        org_settings.set_value(db, now, org_settings.RECORD_GENDER_AND_AGE, True, actor=None)
    await coach_phone.send("/caseload")
    await coach_phone.press(data=f"cl:d:{enrolment_id}")
    await coach_phone.press("Gender and age")
    assert "Gender: not recorded" in coach_phone.last_text
    await coach_phone.press(data=f"dm:g:{enrolment_id}:w")
    assert "Gender: woman" in coach_phone.last_text
    await coach_phone.press("Year of birth")
    await coach_phone.send("nineteen ninety")
    assert coach_phone.last_text.startswith("Write the year of birth with four digits")
    await coach_phone.send("1990")
    assert "Year of birth: 1990" in coach_phone.last_text
    with harness.db() as db:
        person = db.get(Person, person_id)
        assert (person.gender, person.birth_year) == ("woman", 1990)
    # Switched off: the button is gone and a forged press is refused.
    with harness.db() as db:
        org_settings.set_value(db, now, org_settings.RECORD_GENDER_AND_AGE, False, actor=None)
    await coach_phone.press(data=f"cl:d:{enrolment_id}")
    assert "Gender and age" not in coach_phone.buttons()
    await coach_phone.press_data(coach_phone.bot_messages[-1]["message_id"],
                                 f"dm:g:{enrolment_id}:m")
    assert harness.emulator.callback_answers[-1]["text"].startswith(
        "Gender and age are not recorded here")
