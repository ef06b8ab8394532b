"""Time: quiet hours, both daylight-saving weeks, and holiday weeks (Easter, Midsummer,
Christmas), computed in the centre's zone and stored in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.models import OutboxStatus
from bot.services.plans import milestones
from bot.services.reminders import settings as reminder_settings
from bot.services.reminders.settings import QuietHours
from tests.conftest import STOCKHOLM, local
from tests.reminder_support import book, enrol, rows, session_at, world


def _session_reminders(db, status=OutboxStatus.PENDING):  # type: ignore[no-untyped-def]
    return [(r.due_at, r.skip_reason) for r in rows(db, kind="reminder.info_session",
                                                    status=status)]


# --- quiet hours ---------------------------------------------------------------------------
def test_quiet_hours_move_a_reminder_to_the_morning_if_still_useful(db, clock):
    now = clock.now()
    w = world(db, now)
    amina, _ = enrol(db, now, w)
    book(db, now, amina, session_at(db, now, w, local(2026, 3, 5, 9, 0)))
    # Two hours before 09:00 is 07:00, inside the night: moved to 08:00.
    assert _session_reminders(db) == [(local(2026, 3, 4, 9, 0), None),
                                      (local(2026, 3, 5, 8, 0), None)]


def test_a_reminder_not_useful_after_quiet_hours_is_skipped_with_the_reason(db, clock):
    now = clock.now()
    w = world(db, now)
    amina, _ = enrol(db, now, w)
    book(db, now, amina, session_at(db, now, w, local(2026, 3, 5, 8, 0)))
    # 06:00 would move to 08:00, when the session starts: skipped, and the reason kept.
    assert _session_reminders(db) == [(local(2026, 3, 4, 8, 0), None)]
    assert _session_reminders(db, OutboxStatus.SKIPPED) == [(local(2026, 3, 5, 6, 0),
                                                             "quiet_hours")]


def test_quiet_weekends_and_two_reminders_landing_together(db, clock):
    now = clock.now()
    w = world(db, now)
    reminder_settings.update(db, now, w.centre, quiet_weekends=True)
    amina, _ = enrol(db, now, w)
    book(db, now, amina, session_at(db, now, w, local(2026, 3, 9, 9, 30)))  # a Monday
    # Sunday 09:30 and Monday 07:30 both move to Monday 08:00: sent once.
    assert _session_reminders(db) == [(local(2026, 3, 9, 8, 0), None)]
    assert [reason for _, reason in _session_reminders(db, OutboxStatus.SKIPPED)] == ["merged"]


def test_changing_quiet_hours_replans_what_is_pending(db, clock):
    now = clock.now()
    w = world(db, now)
    amina, _ = enrol(db, now, w)
    book(db, now, amina, session_at(db, now, w, local(2026, 3, 5, 8, 0)))
    reminder_settings.update(db, now, w.centre, quiet_start=time(22, 0), quiet_end=time(6, 0))
    # The 06:00 reminder skipped before is wanted again.
    assert _session_reminders(db) == [(local(2026, 3, 4, 8, 0), None),
                                      (local(2026, 3, 5, 6, 0), None)]
    reminder_settings.update(db, now, w.centre, quiet_start=time(0, 0), quiet_end=time(0, 0))
    assert len(_session_reminders(db)) == 2  # no quiet hours: nothing moves


@pytest.mark.parametrize(("moment", "expected"), [
    (local(2026, 3, 4, 19, 59), local(2026, 3, 4, 19, 59)),
    (local(2026, 3, 4, 20, 0), local(2026, 3, 5, 8, 0)),
    (local(2026, 3, 5, 3, 0), local(2026, 3, 5, 8, 0)),
    (local(2026, 3, 28, 22, 0), local(2026, 3, 29, 8, 0)),  # the night the clocks go forward
    (local(2026, 10, 24, 23, 0), local(2026, 10, 25, 8, 0)),  # ... and back
])
def test_next_allowed_time_in_local_wall_clock(moment, expected):
    assert QuietHours().next_allowed(moment, STOCKHOLM) == expected.astimezone(UTC)


def test_quiet_weekend_ends_on_monday_morning():
    quiet = QuietHours(weekends=True)
    assert quiet.next_allowed(local(2026, 3, 7, 12, 0), STOCKHOLM) == local(2026, 3, 9, 8, 0)
    assert quiet.next_allowed(local(2026, 3, 6, 21, 0), STOCKHOLM) == local(2026, 3, 9, 8, 0)
    assert QuietHours(time(12), time(13)).next_allowed(local(2026, 3, 9, 12, 30), STOCKHOLM) \
        == local(2026, 3, 9, 13, 0)


# --- daylight saving -----------------------------------------------------------------------
def test_the_week_the_clocks_go_forward(db, clock):
    clock.set(local(2026, 3, 23, 8, 0))
    now = clock.now()
    w = world(db, now)
    amina, enrolment = enrol(db, now, w)
    # Monday 30 March 09:00 (CEST): the day before is Sunday 29 March, the change day.
    book(db, now, amina, session_at(db, now, w, local(2026, 3, 30, 9, 0)))
    assert _session_reminders(db) == [(datetime(2026, 3, 29, 7, 0, tzinfo=UTC), None),
                                      (datetime(2026, 3, 30, 6, 0, tzinfo=UTC), None)]
    # The day before is 24 hours before on the wall clock, 24 real hours too here ...
    first = _session_reminders(db)[0][0]
    assert local(2026, 3, 30, 9, 0) - first == timedelta(hours=24)
    # ... but 23 real hours for a session on the change day itself.
    other, _ = enrol(db, now, w, "Erik", "sv")
    sunday = session_at(db, now, w, local(2026, 3, 29, 10, 0))
    booking = book(db, now, other, sunday)
    [day_before, _] = rows(db, event_key=f"bk:{booking.id}")
    assert day_before.due_at == datetime(2026, 3, 28, 9, 0, tzinfo=UTC)  # 10:00 CET
    assert sunday.starts_at - day_before.due_at == timedelta(hours=23)
    # Plan deadlines are dates: reminders at 09:00 local on both sides of the change.
    milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 25))
    times = {r.due_at.astimezone(STOCKHOLM).time() for r in rows(db, kind="reminder.first_plan")}
    assert times == {time(9, 0)}
    assert {r.due_at.utcoffset() for r in rows(db, kind="reminder.first_plan")} == {timedelta(0)}


def test_the_week_the_clocks_go_back(db, clock):
    clock.set(local(2026, 10, 19, 8, 0))
    now = clock.now()
    w = world(db, now)
    amina, _ = enrol(db, now, w)
    sunday = session_at(db, now, w, local(2026, 10, 25, 10, 0))  # CET since 03:00
    booking = book(db, now, amina, sunday)
    day_before, two_hours = rows(db, event_key=f"bk:{booking.id}")
    assert day_before.due_at == datetime(2026, 10, 24, 8, 0, tzinfo=UTC)  # 10:00 CEST
    assert sunday.starts_at - day_before.due_at == timedelta(hours=25)
    assert two_hours.due_at == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)  # 08:00 CET
    monday, _ = enrol(db, now, w, "Erik", "sv")
    booking = book(db, now, monday, session_at(db, now, w, local(2026, 10, 26, 9, 30)))
    assert [r.due_at for r in rows(db, event_key=f"bk:{booking.id}")] == [
        datetime(2026, 10, 25, 8, 30, tzinfo=UTC), datetime(2026, 10, 26, 7, 0, tzinfo=UTC)]


# --- holiday weeks ------------------------------------------------------------------------
@pytest.mark.parametrize(("attended", "due"), [
    (date(2026, 4, 1), date(2026, 4, 10)),  # Easter: Good Friday and Easter Monday off
    (date(2026, 6, 15), date(2026, 6, 23)),  # Midsummer Eve (Friday 19 June) off
    (date(2026, 12, 21), date(2026, 12, 30)),  # Christmas Eve, Christmas, Boxing Day off
    (date(2026, 3, 2), date(2026, 3, 9)),  # an ordinary week
])
def test_first_plan_is_due_five_working_days_after_the_session(db, clock, attended, due):
    now = clock.now()
    w = world(db, now, rules=False)
    _, enrolment = enrol(db, now, w)
    assert milestones.on_info_session_attended(db, now, enrolment.id, attended).due_on == due


def test_calendar_days_when_the_admin_chooses_so(db, clock):
    now = clock.now()
    w = world(db, now, rules=False)
    reminder_settings.update(db, now, w.centre, deadline_calendar_days=True)
    _, enrolment = enrol(db, now, w)
    milestone = milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 4, 1))
    # Five days later is Easter Monday, a day off: the next working day.
    assert milestone.due_on == date(2026, 4, 7)


def test_deadline_reminders_around_easter_skip_the_holidays(db, clock):
    clock.set(local(2026, 3, 24, 8, 0))
    now = clock.now()
    w = world(db, now)
    amina, enrolment = enrol(db, now, w)
    # Attended Thursday 26 March: due Thursday 2 April (Maundy Thursday).
    milestone = milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 26))
    assert milestone.due_on == date(2026, 4, 2)
    coach = [r.due_at for r in rows(db, kind="reminder.first_plan", recipient=w.coach)]
    # Two working days before; on the day; overdue on the next working day, which is the
    # Tuesday after Easter (Good Friday, the weekend and Easter Monday are off).
    assert coach == [local(2026, 3, 31, 9, 0), local(2026, 4, 2, 9, 0), local(2026, 4, 7, 9, 0)]
    assert amina.id in {r.recipient_id for r in rows(db, kind="reminder.first_plan")}


def test_a_month_later_on_a_holiday_moves_to_the_next_working_day(db, clock):
    clock.set(local(2026, 5, 20, 10, 0))
    now = clock.now()
    w = world(db, now, rules=False)
    _, enrolment = enrol(db, now, w)
    milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 5, 20))
    deepened = milestones.plan_of(db, enrolment.id)[-1]
    # 20 June 2026 is Midsummer Day (a Saturday): the deepened plan is due Monday 22 June.
    assert deepened.due_on == date(2026, 6, 22)
    # Christmas: a review counted from 25 September lands on Friday 25 December.
    assert milestones.months_due(db, w.centre.id, date(2026, 9, 25), 3) == date(2026, 12, 28)
