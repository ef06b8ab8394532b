"""Check-in: the window and its grace period, rotating codes, locations, information sessions."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from bot.errors import DomainError
from bot.models import (
    AttendanceRecord,
    AttendanceStatus,
    AuditEntry,
    BookingStatus,
    CheckInMethod,
    ClosedDay,
    MilestoneKind,
    PlanMilestone,
)
from bot.services.attendance import checkin, checkin_codes
from bot.services.attendance import policy as attendance_policy
from bot.services.attendance.checkin_codes import CodeCheck
from bot.services.sessions import info_sessions
from tests import factories
from tests.attendance_support import centre_with_staff, code_now, enrol, policy
from tests.conftest import local

KISTA = (59.4032, 17.9448)


def record_of(db, enrolment, day):  # type: ignore[no-untyped-def]
    return db.scalar(select(AttendanceRecord).where(AttendanceRecord.enrolment_id == enrolment.id,
                                                    AttendanceRecord.day == day))


@pytest.fixture
def kista(db, clock):  # type: ignore[no-untyped-def]
    centre, coach, _lead = centre_with_staff(db, clock.now())
    aspirant, enrolment = enrol(db, clock.now(), centre, coach, "Amina")
    return centre, coach, aspirant, enrolment


# --- codes ----------------------------------------------------------------------------------
def test_the_code_rotates_every_step_and_the_previous_code_still_counts(db, clock, kista):
    centre = kista[0]
    rules = policy(db, centre)
    now = local(2026, 3, 2, 9, 0, 10)
    code = checkin_codes.current_code(rules, now)
    assert len(code) == 6 and code.isdigit()
    later = now + timedelta(seconds=60)
    assert checkin_codes.current_code(rules, later) != code
    assert checkin_codes.check(rules, code, now) == CodeCheck.VALID
    assert checkin_codes.check(rules, code, later) == CodeCheck.VALID
    assert checkin_codes.check(rules, code, now + timedelta(seconds=120)) == CodeCheck.STALE
    assert checkin_codes.check(rules, code, now + timedelta(hours=8)) == CodeCheck.WRONG
    wrong = str((int(code) + 1) % 10**6).zfill(6)
    assert checkin_codes.check(rules, wrong, now) == CodeCheck.WRONG


def test_each_centre_has_its_own_codes(db, clock, kista):
    other, _, _ = centre_with_staff(db, clock.now(), "Jobbtorg Farsta")
    now = clock.now()
    assert code_now(db, kista[0], now) != code_now(db, other, now)


def test_start_parameter_round_trip():
    parsed = checkin_codes.parse_start_param(checkin_codes.start_param(12, "004711"))
    assert parsed == checkin_codes.StartParam(12, "004711")
    assert checkin_codes.parse_start_param("ci_12_47") is None
    assert checkin_codes.parse_start_param("abc") is None


# --- the window -----------------------------------------------------------------------------
def test_a_check_in_in_the_window_records_presence(db, clock, kista):
    centre, _, aspirant, enrolment = kista
    now = local(2026, 3, 2, 8, 45)
    done = checkin.check_in(db, now, aspirant, code=code_now(db, centre, now))
    assert done.daily and not done.late and done.method == CheckInMethod.CODE
    record = record_of(db, enrolment, date(2026, 3, 2))
    assert record.status == AttendanceStatus.PRESENT and record.recorded_at == now


def test_before_the_window_opens_the_check_in_is_refused(db, clock, kista):
    centre, _, aspirant, enrolment = kista
    now = local(2026, 3, 2, 8, 29)
    with pytest.raises(DomainError) as refused:
        checkin.check_in(db, now, aspirant, code=code_now(db, centre, now))
    assert refused.value.message.startswith("Check-in opens at {time}")
    assert record_of(db, enrolment, date(2026, 3, 2)) is None


def test_in_the_grace_period_a_late_check_in_counts(db, clock, kista):
    centre, _, aspirant, enrolment = kista
    now = local(2026, 3, 2, 10, 14)
    done = checkin.check_in(db, now, aspirant, code=code_now(db, centre, now))
    assert done.daily and done.late
    assert record_of(db, enrolment, date(2026, 3, 2)).status == AttendanceStatus.PRESENT


def test_after_the_grace_period_the_check_in_is_closed(db, clock, kista):
    centre, _, aspirant, enrolment = kista
    now = local(2026, 3, 2, 10, 16)
    with pytest.raises(DomainError) as refused:
        checkin.check_in(db, now, aspirant, code=code_now(db, centre, now))
    assert refused.value.message.startswith("Check-in closed at {time}")
    assert record_of(db, enrolment, date(2026, 3, 2)) is None


def test_a_second_check_in_the_same_day_is_refused(db, clock, kista):
    centre, _, aspirant, _ = kista
    first = local(2026, 3, 2, 8, 40)
    checkin.check_in(db, first, aspirant, code=code_now(db, centre, first))
    again = local(2026, 3, 2, 9, 30)
    with pytest.raises(DomainError) as refused:
        checkin.check_in(db, again, aspirant, code=code_now(db, centre, again))
    assert refused.value.message.startswith("You have already checked in today")
    assert refused.value.params["time"].strftime("%H:%M") == "08:40"


def test_without_a_requirement_there_is_nothing_to_check_in_to(db, clock, kista):
    centre, coach = kista[0], kista[1]
    aspirant, _ = enrol(db, clock.now(), centre, coach, "Omar", required=False)
    now = local(2026, 3, 2, 9, 0)
    with pytest.raises(DomainError) as refused:
        checkin.check_in(db, now, aspirant, code=code_now(db, centre, now))
    assert "no daily check-in" in refused.value.message


@pytest.mark.parametrize("day", [date(2026, 4, 6), date(2026, 6, 19), date(2026, 3, 7)],
                         ids=["easter-monday", "midsummer-eve", "saturday"])
def test_no_check_in_on_holidays_and_weekends(db, clock, kista, day):
    centre, _, aspirant, _ = kista
    now = local(day.year, day.month, day.day, 9, 0)
    with pytest.raises(DomainError) as refused:
        checkin.check_in(db, now, aspirant, code=code_now(db, centre, now))
    assert refused.value.message.startswith("There is no check-in today")


def test_no_check_in_on_a_closed_day(db, clock, kista):
    centre, _, aspirant, _ = kista
    db.add(ClosedDay(job_centre_id=centre.id, day=date(2026, 3, 4), note="training"))
    db.flush()
    now = local(2026, 3, 4, 9, 0)
    with pytest.raises(DomainError) as refused:
        checkin.check_in(db, now, aspirant, code=code_now(db, centre, now))
    assert refused.value.message.startswith("There is no check-in today")


# --- wrong codes ----------------------------------------------------------------------------
def test_wrong_and_stale_codes_are_refused_and_then_rate_limited(db, clock, kista):
    centre, _, aspirant, enrolment = kista
    now = local(2026, 3, 2, 9, 0)
    stale = code_now(db, centre, now - timedelta(minutes=5))
    with pytest.raises(checkin.BadCode) as bad:
        checkin.check_in(db, now, aspirant, code=stale)
    assert bad.value.stale
    current = code_now(db, centre, now)
    wrong = str((int(current) + 1) % 10**6).zfill(6)
    with pytest.raises(checkin.BadCode) as bad:
        checkin.check_in(db, now, aspirant, code=wrong)
    assert not bad.value.stale and bad.value.message.startswith("This code is not right")
    for _ in range(checkin.BAD_CODE_LIMIT):
        checkin.count_bad_code(db, now, aspirant)
    with pytest.raises(DomainError) as refused:
        checkin.check_in(db, now, aspirant, code=current)
    assert refused.value.message.startswith("Too many wrong codes")
    assert record_of(db, enrolment, date(2026, 3, 2)) is None
    # After the waiting time the right code works again.
    later = now + checkin.BAD_CODE_WINDOW
    assert checkin.check_in(db, later, aspirant, code=code_now(db, centre, later)).daily


def test_a_code_of_another_centre_is_named_as_such(db, clock, kista):
    centre, _, aspirant, _ = kista
    other, _, _ = centre_with_staff(db, clock.now(), "Jobbtorg Farsta")
    now = local(2026, 3, 2, 9, 0)
    with pytest.raises(checkin.BadCode) as bad:
        checkin.check_in(db, now, aspirant, code=code_now(db, other, now))
    assert "another job centre" in bad.value.message
    # A scanned link names the centre: refused before the code is even looked at.
    with pytest.raises(DomainError) as refused:
        checkin.check_in(db, now, aspirant, job_centre_id=other.id,
                         code=code_now(db, other, now))
    assert "another job centre" in refused.value.message
    assert refused.value.params["centre"] == centre.name


# --- locations ------------------------------------------------------------------------------
def test_a_location_inside_the_radius_can_replace_the_code(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now(), location_rule="alternative",
                                         radius_m=150)
    aspirant, enrolment = enrol(db, clock.now(), centre, coach, "Amina")
    now = local(2026, 3, 2, 9, 0)
    near = checkin.SharedLocation(KISTA[0] + 0.0005, KISTA[1], live_period=900)  # 55 m north
    done = checkin.check_in(db, now, aspirant, location=near)
    assert done.method == CheckInMethod.LOCATION
    record = record_of(db, enrolment, date(2026, 3, 2))
    assert record.method == CheckInMethod.LOCATION and record.evidence == "live_location"


def test_a_location_outside_the_radius_is_refused_with_the_distance(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now(), location_rule="alternative",
                                         radius_m=150)
    aspirant, enrolment = enrol(db, clock.now(), centre, coach, "Amina")
    now = local(2026, 3, 2, 9, 0)
    far = checkin.SharedLocation(KISTA[0] + 0.01, KISTA[1], live_period=900)  # 1.1 km north
    with pytest.raises(DomainError) as refused:
        checkin.check_in(db, now, aspirant, location=far)
    assert refused.value.params["distance"] == pytest.approx(1110, abs=20)
    assert record_of(db, enrolment, date(2026, 3, 2)) is None


def test_when_required_the_code_and_the_location_are_both_needed(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now(), location_rule="required")
    aspirant, enrolment = enrol(db, clock.now(), centre, coach, "Amina")
    now = local(2026, 3, 2, 9, 0)
    with pytest.raises(checkin.NeedsProof) as need:
        checkin.check_in(db, now, aspirant, code=code_now(db, centre, now))
    assert need.value.missing == checkin.LOCATION and need.value.proven == {checkin.CODE}
    assert record_of(db, enrolment, date(2026, 3, 2)) is None
    done = checkin.check_in(db, now, aspirant,
                            location=checkin.SharedLocation(*KISTA, live_period=3600),
                            proven_before=need.value.proven)
    assert done.daily and done.method == CheckInMethod.CODE
    assert record_of(db, enrolment, date(2026, 3, 2)).evidence == "code+live_location"


def test_with_the_code_only_a_location_is_not_accepted(db, clock, kista):
    _, _, aspirant, _ = kista
    with pytest.raises(DomainError) as refused:
        checkin.check_in(db, local(2026, 3, 2, 9, 0), aspirant, location=KISTA)
    assert "works with the code" in refused.value.message


def test_location_rules_need_the_centre_coordinates(db, clock):
    centre = factories.centre(db, clock.now(), "Jobbtorg City", latitude=None, longitude=None)
    with pytest.raises(DomainError):
        attendance_policy.update(db, clock.now(), centre, actor=None, location_rule="required")


# --- information sessions -------------------------------------------------------------------
def test_checking_in_at_an_information_session_marks_it_attended_and_starts_the_plan(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    session = factories.session(db, clock.now(), centre, local(2026, 3, 3, 13, 0))
    aspirant, enrolment = enrol(db, clock.now(), centre, coach, "Amina", required=False, intake=None)
    booking = info_sessions.book(db, clock.now(), aspirant, session.id)
    now = local(2026, 3, 3, 12, 45)
    done = checkin.check_in(db, now, aspirant, code=code_now(db, centre, now))
    assert done.session is not None and not done.daily
    assert booking.status == BookingStatus.ATTENDED
    plan = db.scalar(select(PlanMilestone).where(PlanMilestone.enrolment_id == enrolment.id))
    assert plan.kind == MilestoneKind.FIRST_PLAN and plan.counted_from == date(2026, 3, 3)
    assert plan.due_on == date(2026, 3, 10)  # five working days later
    with pytest.raises(DomainError) as refused:
        checkin.check_in(db, now, aspirant, code=code_now(db, centre, now))
    assert "information session" in refused.value.message


def test_one_check_in_counts_for_the_day_and_a_session_in_the_window(db, clock):
    centre, coach, _ = centre_with_staff(db, clock.now())
    session = factories.session(db, clock.now(), centre, local(2026, 3, 2, 9, 0))
    aspirant, enrolment = enrol(db, clock.now(), centre, coach, "Amina")
    booking = info_sessions.book(db, clock.now(), aspirant, session.id)
    now = local(2026, 3, 2, 8, 50)
    done = checkin.check_in(db, now, aspirant, code=code_now(db, centre, now))
    assert done.daily and done.session is not None
    assert booking.status == BookingStatus.ATTENDED
    assert record_of(db, enrolment, date(2026, 3, 2)).status == AttendanceStatus.PRESENT


# --- the policy -----------------------------------------------------------------------------
@pytest.mark.parametrize("changes", [
    {"window_start": time(10, 0), "window_end": time(9, 0)},
    {"weekdays": "1238"},
    {"grace_minutes": -5},
    {"code_step_seconds": 5},
    {"location_rule": "sometimes"},
    {"colour": "red"},
])
def test_a_bad_policy_value_changes_nothing(db, clock, kista, changes):
    centre = kista[0]
    before = attendance_policy.describe(policy(db, centre))
    with pytest.raises(DomainError):
        attendance_policy.update(db, clock.now(), centre, actor=None, **changes)
    assert attendance_policy.describe(policy(db, centre)) == before


def test_policy_changes_are_audited_and_rotating_the_secret_voids_every_code(db, clock, kista):
    centre, coach, aspirant, _ = kista
    now = local(2026, 3, 2, 9, 0)
    old = code_now(db, centre, now)
    attendance_policy.update(db, now, centre, actor=coach, code_step_seconds=30,
                             window_end=time(9, 30), rotate_secret=True)
    rules = policy(db, centre)
    assert checkin_codes.check(rules, old, now) == CodeCheck.WRONG
    assert checkin_codes.seconds_left(rules, now) == 30
    assert checkin_codes.current_code(rules, now) != checkin_codes.current_code(
        rules, now + timedelta(seconds=30))
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "attendance.policy"))
    assert entry.actor_id == coach.id and entry.details == {
        "changed": ["code_step_seconds", "window_end"], "rotated": True}
    # The window now closes at 09:30 (+15 minutes' grace).
    late = local(2026, 3, 2, 9, 50)
    with pytest.raises(DomainError):
        checkin.check_in(db, late, aspirant, code=code_now(db, centre, late))


def test_a_check_in_reads_two_statements_and_writes_one(engine, sessions, clock):
    """The hot path stays as it was optimised: who it is (with the intake that decides the
    requirement) in one statement, the day's state in one more, one write."""
    from sqlalchemy import event

    from bot.db import unit_of_work
    from bot.services.people import identity

    with unit_of_work(sessions) as db:
        centre, coach, _ = centre_with_staff(db, clock.now())
        for uid, name in ((811, "Amina"), (812, "Bea")):
            enrol(db, clock.now(), centre, coach, name, telegram_user_id=uid)
    at = local(2026, 3, 2, 8, 45)

    def check_in_as(uid: int) -> None:
        with unit_of_work(sessions) as db:
            who = identity.identify(db, uid, uid)
            code = checkin_codes.current_code(
                attendance_policy.policy_for(db, at, who.enrolment.job_centre_id), at)
            statements.clear()
            who = identity.identify(db, uid, uid)
            checkin.check_in(db, at, who.person_id, enrolment=who.enrolment, code=code)

    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement.split()[0].upper())

    check_in_as(812)  # the centre's facts are cached from here on
    check_in_as(811)
    assert statements == ["SELECT", "SELECT", "INSERT"]
