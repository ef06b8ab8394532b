"""The coach's tools: caseload, marking attendance by hand, notes, statements."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.errors import DomainError, NotFound
from bot.models import (
    AbsenceReason,
    AttendanceStatus,
    AuditEntry,
    CheckInMethod,
    Judgement,
    Role,
)
from bot.services.attendance import absences, caseload, checkin, follow_up
from bot.services.attendance import statement as attendance_statement
from bot.services.attendance import sweep as attendance_sweep
from bot.services.attendance.caseload import Today
from tests import factories
from tests.attendance_support import centre_with_staff, code_now, enrol, queued
from tests.conftest import local

MONDAY = date(2026, 3, 2)


def test_the_caseload_shows_today_and_puts_overdue_deadlines_first(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    # Sara's first plan was due last week; Amina's and Yusuf's are due this Friday.
    amina, _amina_e = enrol(db, clock.now(), centre, coach, "Amina", intake=date(2026, 2, 27))
    _yusuf, _yusuf_e = enrol(db, clock.now(), centre, coach, "Yusuf")
    _sara, _sara_e = enrol(db, clock.now(), centre, coach, "Sara", required=False,
                           intake=date(2026, 2, 16))
    # Omar's information session is today: his daily check-in starts tomorrow.
    _omar, _omar_e = enrol(db, clock.now(), centre, coach, "Omar", intake=MONDAY)
    now = local(2026, 3, 2, 8, 45)
    checkin.check_in(db, now, amina, code=code_now(db, centre, now))
    entries = caseload.entries(db, now, coach)
    assert [e.name for e in entries] == ["Sara", "Amina", "Yusuf", "Omar"]
    sara_entry, amina_entry, yusuf_entry, omar_entry = entries
    assert sara_entry.overdue and sara_entry.next_due == date(2026, 2, 23)
    assert sara_entry.today == Today.NONE
    assert amina_entry.today == Today.PRESENT and not amina_entry.overdue
    assert yusuf_entry.today == Today.WAITING and yusuf_entry.next_due == date(2026, 3, 6)
    assert omar_entry.today == Today.NOT_STARTED
    later = caseload.entries(db, local(2026, 3, 2, 10, 20), coach)
    assert [(e.name, e.today) for e in later if e.name in ("Yusuf", "Omar")] == [
        ("Yusuf", Today.MISSING), ("Omar", Today.NOT_STARTED)]


def test_the_caseload_counts_the_unexcused_streak(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    _yusuf, _enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    for offset in range(3):
        day = MONDAY + timedelta(days=offset)
        attendance_sweep.run_due(db, local(day.year, day.month, day.day, 10, 16))
    (entry,) = caseload.entries(db, local(2026, 3, 5, 9, 0), coach)
    assert entry.streak == 3 and entry.today == Today.WAITING


def test_paging():
    items = list(range(19))
    assert caseload.page(items, 0, 8) == (list(range(8)), 0, 3)
    assert caseload.page(items, 2, 8) == ([16, 17, 18], 2, 3)
    assert caseload.page(items, 9, 8)[1] == 2
    assert caseload.page([], 0, 8) == ([], 0, 1)


def test_marking_by_hand_is_audited_and_checked(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    _yusuf, enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    now = local(2026, 3, 3, 11, 0)
    record = follow_up.mark(db, now, coach, enrolment.id, date(2026, 3, 3),
                            AttendanceStatus.PRESENT)
    assert record.method == CheckInMethod.MANUAL and record.recorded_by_id == coach.id
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "attendance.mark"))
    assert entry.actor_id == coach.id and entry.details["status"] == "present"
    assert "Yusuf" not in str(entry.details)
    with pytest.raises(DomainError):  # the future
        follow_up.mark(db, now, coach, enrolment.id, date(2026, 3, 4), AttendanceStatus.PRESENT)
    with pytest.raises(DomainError):  # a Saturday
        follow_up.mark(db, now, coach, enrolment.id, date(2026, 2, 28),
                       AttendanceStatus.PRESENT)


def test_only_the_aspirants_coach_or_a_lead_of_the_centre_may_act(db, clock):
    centre, coach, lead = centre_with_staff(db, clock.now())
    _other_centre, other_coach, other_lead = centre_with_staff(db, clock.now(), "Jobbtorg Farsta")
    colleague = factories.staff(db, clock.now(), Role.COACH, centre, name="Coach Nils")
    _yusuf, enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    now = local(2026, 3, 2, 11, 0)
    for stranger in (colleague, other_coach, other_lead):
        with pytest.raises(NotFound):
            follow_up.mark(db, now, stranger, enrolment.id, MONDAY, AttendanceStatus.EXCUSED)
        with pytest.raises(NotFound):
            caseload.detail(db, now, stranger, enrolment.id)
    follow_up.mark(db, now, lead, enrolment.id, MONDAY, AttendanceStatus.EXCUSED)


def test_the_coach_can_switch_the_requirement_and_it_is_audited(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    _yusuf, enrolment = enrol(db, clock.now(), centre, coach, "Yusuf", required=False)
    follow_up.set_requirement(db, clock.now(), coach, enrolment.id, True)
    assert enrolment.attendance_required
    entry = db.scalar(select(AuditEntry)
                      .where(AuditEntry.action == "enrolment.attendance_required"))
    assert entry.details == {"required": True}


def test_notes_are_kept_and_shown_newest_first(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    _yusuf, enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    follow_up.add_note(db, clock.now(), coach, enrolment.id, MONDAY, "Called, no answer")
    follow_up.add_note(db, clock.now() + timedelta(hours=1), coach, enrolment.id, MONDAY,
                       "Called back: ill")
    with pytest.raises(DomainError):
        follow_up.add_note(db, clock.now(), coach, enrolment.id, MONDAY, "   ")
    assert [n.text for n in follow_up.notes(db, enrolment.id)] == ["Called back: ill",
                                                                  "Called, no answer"]
    detail = caseload.detail(db, clock.now(), coach, enrolment.id)
    assert detail.notes[0].text == "Called back: ill"
    # Erasing the aspirant blanks the notes about them.
    assert follow_up.forget_notes(db, [enrolment.id]) == 2
    assert follow_up.notes(db, enrolment.id) == []


def test_the_statement_shows_reasons_the_coachs_judgement_and_who_made_it(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    yusuf, enrolment = enrol(db, clock.now(), centre, coach, "Yusuf")
    week = [MONDAY + timedelta(days=offset) for offset in range(5)]
    # Mon present, Tue ill (reported ahead), Wed no reason, Thu explained (sick child),
    # Fri marked present by hand.
    tuesday = absences.report(db, clock.now(), yusuf, AbsenceReason.ILL, week[1], week[1])
    for day in week:
        morning = local(day.year, day.month, day.day, 8, 45)
        if day == week[0]:
            checkin.check_in(db, morning, yusuf, code=code_now(db, centre, morning))
        attendance_sweep.run_due(db, local(day.year, day.month, day.day, 10, 16))
    record_thursday = next(m for m in queued(db, attendance_sweep.WHY_KIND)
                           if m.params["date"] == {"date": week[3].isoformat()})
    absences.explain(db, local(2026, 3, 5, 11, 0), yusuf, record_thursday.params["record"],
                     AbsenceReason.SICK_CHILD)
    follow_up.mark(db, local(2026, 3, 6, 12, 0), coach, enrolment.id, week[4],
                   AttendanceStatus.PRESENT)
    now = local(2026, 3, 9, 9, 0)  # next Monday, before the window closes
    statement = attendance_statement.statement(db, now, coach, enrolment.id, MONDAY,
                                               date(2026, 3, 9))
    assert [d.day for d in statement.days] == week  # today is not decided yet
    # Nothing is judged by the software: two reasons wait for the coach.
    assert (statement.present, statement.reported, statement.no_reason) == (2, 2, 1)
    assert (statement.valid, statement.not_valid) == (0, 0)
    assert statement.absences_by_reason() == Counter({AbsenceReason.ILL: 1,
                                                      AbsenceReason.SICK_CHILD: 1, None: 1})
    # The coach judges Tuesday valid and Thursday not valid.
    follow_up.judge_report(db, now, coach, tuesday.id, Judgement.VALID)
    follow_up.judge_record(db, now, coach, record_thursday.params["record"],
                           Judgement.NOT_VALID)
    statement = attendance_statement.statement(db, now, coach, enrolment.id, MONDAY,
                                               date(2026, 3, 9))
    assert [(d.status, d.reason, d.judged_by) for d in statement.days] == [
        ("present", None, None), ("valid", AbsenceReason.ILL, "Coach Karin"),
        ("no_reason", None, None), ("not_valid", AbsenceReason.SICK_CHILD, "Coach Karin"),
        ("present", None, None)]
    assert statement.not_recorded == 0
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "attendance.statement"))


def test_the_statement_starts_the_day_after_the_intake(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    _amina, enrolment = enrol(db, clock.now(), centre, coach, "Amina",
                              intake=date(2026, 3, 4))
    now = local(2026, 3, 9, 12, 0)
    statement = attendance_statement.statement(db, now, coach, enrolment.id, MONDAY,
                                               date(2026, 3, 8))
    assert statement.starts_on == date(2026, 3, 5)
    # Thursday and Friday only, nothing recorded (no detection ran in this test).
    assert [(d.day, d.status) for d in statement.days] == [
        (date(2026, 3, 5), "not_recorded"), (date(2026, 3, 6), "not_recorded")]
    _omar, no_intake = enrol(db, clock.now(), centre, coach, "Omar", intake=None)
    empty = attendance_statement.statement(db, now, coach, no_intake.id, MONDAY,
                                           date(2026, 3, 8))
    assert empty.days == [] and empty.starts_on is None


def test_statement_periods():
    today = date(2026, 3, 17)
    assert attendance_statement.period(today, "30") == (date(2026, 2, 16), today)
    assert attendance_statement.period(today, "m") == (date(2026, 3, 1), today)
    assert attendance_statement.period(today, "pm") == (date(2026, 2, 1), date(2026, 2, 28))


def test_absence_reports_are_checked(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    yusuf, _ = enrol(db, clock.now(), centre, coach, "Yusuf")
    with pytest.raises(DomainError):  # the past
        absences.report(db, clock.now(), yusuf, AbsenceReason.ILL, date(2026, 2, 27),
                        date(2026, 2, 27))
    with pytest.raises(DomainError):  # backwards
        absences.report(db, clock.now(), yusuf, AbsenceReason.ILL, date(2026, 3, 5),
                        date(2026, 3, 4))
    with pytest.raises(DomainError):  # "other" needs words
        absences.report(db, clock.now(), yusuf, AbsenceReason.OTHER, MONDAY, MONDAY, "  ")
    assert absences.selectable_days(db, clock.now(), absences.enrolment_of(db, yusuf))[:3] == [
        MONDAY, date(2026, 3, 3), date(2026, 3, 4)]
