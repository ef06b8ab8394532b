"""Absence detection after the window, the coach's alert after the wait for the answer,
escalation, re-sent alerts and the morning digest."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bot.db import unit_of_work
from bot.models import (
    AttendanceRecord,
    AttendanceStatus,
    ClosedDay,
    CoachAlert,
    CoachAlertItem,
    Judgement,
    OutboxMessage,
)
from bot.services.attendance import absences, checkin, follow_up
from bot.services.attendance import sweep as attendance_sweep
from bot.services.attendance.coach_alerts import KIND as ALERT_KIND
from bot.services.attendance.sweep import DIGEST_KIND, ESCALATION_KIND, WHY_KIND
from tests.attendance_support import centre_with_staff, code_now, enrol, queued
from tests.conftest import local

MONDAY = date(2026, 3, 2)


def after_cutoff(day: date):  # type: ignore[no-untyped-def]
    return local(day.year, day.month, day.day, 10, 16)


def after_wait(day: date):  # type: ignore[no-untyped-def]
    """The coaches' alerts go out the default 30 minutes after the aspirants were asked."""
    return after_cutoff(day) + timedelta(minutes=30)


def run_day(db, day: date):  # type: ignore[no-untyped-def]
    """The day's detection, then the alerts after the wait."""
    first = attendance_sweep.run_due(db, after_cutoff(day))
    second = attendance_sweep.run_due(db, after_wait(day))
    return first, second


def check_in(db, centre, aspirant, day: date) -> None:  # type: ignore[no-untyped-def]
    now = local(day.year, day.month, day.day, 8, 45)
    checkin.check_in(db, now, aspirant, code=code_now(db, centre, now))


def status(db, enrolment, day):  # type: ignore[no-untyped-def]
    return db.scalar(select(AttendanceRecord.status).where(
        AttendanceRecord.enrolment_id == enrolment.id, AttendanceRecord.day == day))


def counts(db):  # type: ignore[no-untyped-def]
    return (db.scalar(select(func.count(AttendanceRecord.id))),
            db.scalar(select(func.count(OutboxMessage.id))),
            db.scalar(select(func.count(CoachAlert.id))),
            db.scalar(select(func.count(CoachAlertItem.id))))


def test_one_alert_lists_who_missed_and_running_again_changes_nothing(db, clock):
    centre, coach, _lead = centre_with_staff(db, clock.now())
    amina, amina_e = enrol(db, clock.now(), centre, coach, "Amina")
    yusuf, yusuf_e = enrol(db, clock.now(), centre, coach, "Yusuf")
    sara, sara_e = enrol(db, clock.now(), centre, coach, "Sara")
    _omar, omar_e = enrol(db, clock.now(), centre, coach, "Omar", required=False)
    check_in(db, centre, amina, MONDAY)
    absences.report(db, local(2026, 3, 2, 7, 30), sara, absences.AbsenceReason.ILL, MONDAY,
                    MONDAY)
    assert attendance_sweep.run_due(db, local(2026, 3, 2, 10, 15)).queued == 0
    report = attendance_sweep.run_due(db, after_cutoff(MONDAY))
    assert (report.absent, report.reported, report.alerts) == (1, 1, 0)
    assert status(db, amina_e, MONDAY) == AttendanceStatus.PRESENT
    assert status(db, yusuf_e, MONDAY) == AttendanceStatus.UNEXCUSED
    # Reported in advance is not "valid": the coach judges.
    assert status(db, sara_e, MONDAY) == AttendanceStatus.REPORTED
    assert status(db, omar_e, MONDAY) is None
    (why,) = queued(db, WHY_KIND)
    assert why.recipient_id == yusuf.id
    assert queued(db, ALERT_KIND) == []  # ask first: the alert waits for the answer
    assert attendance_sweep.run_due(db, after_wait(MONDAY)).alerts == 1
    (alert,) = queued(db, ALERT_KIND)
    assert alert.recipient_id == coach.id
    assert [(i["name"], i["answer"]) for i in alert.params["items"]] == [("Yusuf", "")]
    assert queued(db, ESCALATION_KIND) == []
    before = counts(db)
    again = attendance_sweep.run_due(db, after_wait(MONDAY) + timedelta(minutes=1))
    assert again.queued == 0 and counts(db) == before


def test_no_detection_on_holidays_closed_days_or_weekends(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    enrol(db, clock.now(), centre, coach, "Yusuf")
    db.add(ClosedDay(job_centre_id=centre.id, day=date(2026, 3, 4), note="staff day"))
    db.flush()
    for day in (date(2026, 4, 6), date(2026, 6, 19), date(2026, 3, 4), date(2026, 3, 7)):
        report = attendance_sweep.run_due(db, after_cutoff(day))
        assert report.queued == 0, day
    assert db.scalar(select(func.count(AttendanceRecord.id))) == 0


def test_an_absence_reported_in_advance_stays_reported_until_the_coach_judges(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    yusuf, enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    wednesday, thursday = date(2026, 3, 4), date(2026, 3, 5)
    absences.report(db, clock.now(), yusuf, absences.AbsenceReason.JOB_INTERVIEW, wednesday,
                    thursday)
    (notice,) = queued(db, "absence_notice", coach)
    assert notice.params["reason"] == {"term": "Job interview"}
    run_day(db, wednesday)
    assert status(db, enrolment, wednesday) == AttendanceStatus.REPORTED
    assert queued(db, WHY_KIND) == [] and queued(db, ALERT_KIND) == []
    # The coach judges the report valid: Wednesday changes now, Thursday when it comes.
    follow_up.judge_report(db, after_wait(wednesday), coach, notice.params["report"],
                           Judgement.VALID)
    assert status(db, enrolment, wednesday) == AttendanceStatus.EXCUSED
    run_day(db, thursday)
    assert status(db, enrolment, thursday) == AttendanceStatus.EXCUSED
    record = db.scalar(select(AttendanceRecord).where(AttendanceRecord.enrolment_id
                                                      == enrolment.id,
                                                      AttendanceRecord.day == thursday))
    assert record.judged_by_id == coach.id
    # ... and can change the judgement: both days follow.
    follow_up.judge_report(db, after_wait(thursday), coach, notice.params["report"],
                           Judgement.NOT_VALID)
    assert [status(db, enrolment, d) for d in (wednesday, thursday)] == [
        AttendanceStatus.UNEXCUSED, AttendanceStatus.UNEXCUSED]


def _policy(**changes):  # type: ignore[no-untyped-def]
    return {"streak_limit": 0, "window_limit": 0, **changes}


def test_two_unexcused_absences_in_a_row_escalate_to_the_team_lead(db, clock):
    centre, coach, lead = centre_with_staff(db, clock.now(), **_policy(streak_limit=2))
    _yusuf, _enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    run_day(db, MONDAY)
    assert queued(db, ESCALATION_KIND) == []
    tuesday = MONDAY + timedelta(days=1)
    attendance_sweep.run_due(db, after_cutoff(tuesday))
    assert queued(db, ESCALATION_KIND) == []  # not before the wait for the answer
    attendance_sweep.run_due(db, after_wait(tuesday))
    (escalation,) = queued(db, ESCALATION_KIND)
    assert escalation.recipient_id == lead.id
    assert escalation.params["count"] == 2 and escalation.params["name"] == "Yusuf"
    alerts = queued(db, ALERT_KIND, coach)
    assert [a.params["items"][0]["escalation"] for a in alerts] == ["", "streak"]
    # The third day in a row is not "two in a row" again.
    run_day(db, MONDAY + timedelta(days=2))
    assert len(queued(db, ESCALATION_KIND)) == 1


def test_an_answer_within_the_wait_is_in_the_alert_and_does_not_escalate(db, clock):
    centre, coach, _lead = centre_with_staff(db, clock.now(), **_policy(streak_limit=2))
    yusuf, _enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    run_day(db, MONDAY)
    tuesday = MONDAY + timedelta(days=1)
    attendance_sweep.run_due(db, after_cutoff(tuesday))
    why = queued(db, WHY_KIND)[-1]
    absences.explain(db, after_cutoff(tuesday) + timedelta(minutes=10), yusuf,
                     why.params["record"], absences.AbsenceReason.ILL)
    attendance_sweep.run_due(db, after_wait(tuesday))
    alert = queued(db, ALERT_KIND, coach)[-1]
    assert [(i["name"], i["answer"]) for i in alert.params["items"]] == [("Yusuf", "ill")]
    # A reason given is no "unexcused absence": no escalation on the second day.
    assert queued(db, ESCALATION_KIND) == []
    assert queued(db, "absence_explained") == []  # the alert carries the answer


def test_an_excused_day_breaks_the_streak(db, clock):
    centre, coach, _lead = centre_with_staff(db, clock.now(), **_policy(streak_limit=2))
    _yusuf, enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    attendance_sweep.run_due(db, after_cutoff(MONDAY))
    follow_up.mark(db, after_cutoff(MONDAY), coach, enrolment.id, MONDAY,
                   AttendanceStatus.EXCUSED)
    attendance_sweep.run_due(db, after_cutoff(MONDAY + timedelta(days=1)))
    assert queued(db, ESCALATION_KIND) == []


def test_three_unexcused_absences_within_ten_days_escalate(db, clock):
    centre, coach, _lead = centre_with_staff(db, clock.now(),
                                            **_policy(window_limit=3, window_days=10))
    yusuf, _enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    # Absent Monday, Wednesday and Friday; present Tuesday and Thursday.
    for offset in range(5):
        day = MONDAY + timedelta(days=offset)
        if offset % 2:
            check_in(db, centre, yusuf, day)
        run_day(db, day)
        expected = 1 if offset == 4 else 0
        assert len(queued(db, ESCALATION_KIND)) == expected, day
    (escalation,) = queued(db, ESCALATION_KIND)
    assert escalation.params == {"name": "Yusuf", "centre": centre.name, "count": 3, "days": 10}


def test_absences_outside_the_ten_day_window_do_not_count(db, clock):
    centre, coach, _lead = centre_with_staff(db, clock.now(),
                                            **_policy(window_limit=3, window_days=10))
    _yusuf, _enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    days = [MONDAY, MONDAY + timedelta(days=7), MONDAY + timedelta(days=14)]  # 3 Mondays
    for day in days:
        run_day(db, day)
    # The first Monday is 11 check-in days before the third: only two count.
    assert queued(db, ESCALATION_KIND) == []


def test_an_unacknowledged_alert_is_sent_again_once(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now(), alert_resend_minutes=60)
    enrol(db, clock.now(), centre, coach, "Yusuf")
    run_day(db, MONDAY)
    start = after_wait(MONDAY)  # counted from when the alert went out
    assert attendance_sweep.run_due(db, start + timedelta(minutes=59)).resent == 0
    assert attendance_sweep.run_due(db, start + timedelta(minutes=60)).resent == 1
    assert attendance_sweep.run_due(db, start + timedelta(hours=3)).resent == 0
    first, second = queued(db, ALERT_KIND, coach)
    assert not first.params["again"] and second.params["again"]
    assert second.params["items"] == first.params["items"]


def test_an_alert_the_coach_acted_on_is_not_sent_again(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    _yusuf, enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    run_day(db, MONDAY)
    follow_up.contacted(db, after_wait(MONDAY) + timedelta(minutes=5), coach, enrolment.id,
                        MONDAY)
    assert attendance_sweep.run_due(db, after_wait(MONDAY) + timedelta(hours=2)).resent == 0
    assert len(queued(db, ALERT_KIND, coach)) == 1


def test_without_a_coach_the_team_leads_get_the_alert(db, clock):
    centre, _coach, lead = centre_with_staff(db, clock.now())
    enrol(db, clock.now(), centre, None, "Yusuf")
    run_day(db, MONDAY)
    (alert,) = queued(db, ALERT_KIND)
    assert alert.recipient_id == lead.id


def test_each_coach_gets_one_alert_with_their_own_aspirants(db, clock):
    centre, coach, _lead = centre_with_staff(db, clock.now())
    from bot.models import Role
    from tests import factories

    other = factories.staff(db, clock.now(), Role.COACH, centre, name="Coach Nils")
    for name in ("Yusuf", "Ali"):
        enrol(db, clock.now(), centre, coach, name)
    enrol(db, clock.now(), centre, other, "Hodan")
    run_day(db, MONDAY)
    (mine,) = queued(db, ALERT_KIND, coach)
    (theirs,) = queued(db, ALERT_KIND, other)
    assert sorted(i["name"] for i in mine.params["items"]) == ["Ali", "Yusuf"]
    assert [i["name"] for i in theirs.params["items"]] == ["Hodan"]


def test_the_digest_goes_out_once_at_the_set_time_on_check_in_days(db, clock):
    from datetime import time

    centre, coach, _ = centre_with_staff(db, clock.now(), digest_time=time(7, 45))
    yusuf, _ = enrol(db, clock.now(), centre, coach, "Yusuf")
    absences.report(db, clock.now(), yusuf, absences.AbsenceReason.ILL, date(2026, 3, 3),
                    date(2026, 3, 3))
    tuesday = date(2026, 3, 3)
    assert attendance_sweep.run_due(db, local(2026, 3, 3, 7, 44)).digests == 0
    assert attendance_sweep.run_due(db, local(2026, 3, 3, 7, 45)).digests == 1
    assert attendance_sweep.run_due(db, local(2026, 3, 3, 7, 50)).digests == 0
    (digest,) = queued(db, DIGEST_KIND, coach)
    assert digest.params["day"] == tuesday.isoformat()
    assert digest.params["reported"] == [["Yusuf", "ill"]]
    # Easter Monday: no digest.
    assert attendance_sweep.run_due(db, local(2026, 4, 6, 7, 46)).digests == 0


def test_switching_the_requirement_off_stops_detection(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    _yusuf, enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    follow_up.set_requirement(db, clock.now(), coach, enrolment.id, False)
    attendance_sweep.run_due(db, after_cutoff(MONDAY))
    assert status(db, enrolment, MONDAY) is None and queued(db, ALERT_KIND) == []


def test_the_answer_to_why_reaches_the_coach_and_the_coach_decides(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    yusuf, enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    run_day(db, MONDAY)
    (why,) = queued(db, WHY_KIND)
    # Answered after the alert went out: the alert comes again, updated.
    absences.explain(db, after_wait(MONDAY) + timedelta(minutes=20), yusuf,
                     why.params["record"], absences.AbsenceReason.SICK_CHILD)
    assert status(db, enrolment, MONDAY) == AttendanceStatus.REPORTED
    first, updated = queued(db, ALERT_KIND, coach)
    assert updated.params["updated"] and not first.params["updated"]
    assert [i["answer"] for i in updated.params["items"]] == ["sick_child"]
    follow_up.mark(db, after_cutoff(MONDAY), coach, enrolment.id, MONDAY,
                   AttendanceStatus.EXCUSED)
    assert status(db, enrolment, MONDAY) == AttendanceStatus.EXCUSED


def test_two_instances_detecting_at_once_queue_one_alert(sessions, database_url, clock):
    if database_url.startswith("sqlite"):
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers by itself")
    with unit_of_work(sessions) as db:
        centre, coach, _ = centre_with_staff(db, clock.now(), alert_delay_minutes=0)
        enrol(db, clock.now(), centre, coach, "Yusuf")
    now = after_cutoff(MONDAY)
    first = sessions()
    assert attendance_sweep.run_due(first, now).alerts == 1  # not committed yet
    reports = []

    def second_instance() -> None:
        with unit_of_work(sessions) as db:
            reports.append(attendance_sweep.run_due(db, now))

    other = threading.Thread(target=second_instance)
    other.start()
    other.join(0.5)
    assert other.is_alive()  # waits for the first instance's lock
    first.commit()
    first.close()
    other.join(10)
    assert reports[0].queued == 0
    with unit_of_work(sessions) as db:
        assert len(queued(db, ALERT_KIND)) == 1 and len(queued(db, WHY_KIND)) == 1


def test_with_no_wait_the_alert_goes_out_with_the_question(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now(), alert_delay_minutes=0)
    yusuf, _ = enrol(db, clock.now(), centre, coach, "Yusuf")
    report = attendance_sweep.run_due(db, after_cutoff(MONDAY))
    assert (report.absent, report.alerts) == (1, 1)
    (why,) = queued(db, WHY_KIND)
    (alert,) = queued(db, ALERT_KIND, coach)
    assert why.recipient_id == yusuf.id and why.due_at == alert.due_at == after_cutoff(MONDAY)
