"""The preview behind the console's rule page (bot/services/reminders/forecast.py): what a
draft rule would send in the next 14 days, through the real planner, without storing
anything. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from bot.models import (
    AbsenceReason,
    AttendanceStatus,
    Audience,
    Enrolment,
    EventKind,
    OutboxMessage,
    Person,
    ReminderRule,
)
from bot.services.attendance import absences, follow_up
from bot.services.centres import closed_days
from bot.services.people import enrolments as enrolment_service
from bot.services.people import reachability
from bot.services.plans import milestones
from bot.services.reminders import events, forecast
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders.rules import RuleSpec
from tests.conftest import local
from tests.reminder_support import enrol, world

MONDAY = local(2026, 3, 2, 8, 0)


def _check_in_world(db):
    """Five aspirants with the daily requirement: Amina did nothing yet, Erik checked in on
    Tuesday, Hodan reported Wednesday and Thursday absent, Dariush blocked the bot, Sven
    left the job centre; Friday 6 March is a closed day."""
    w = world(db, MONDAY)
    people = {}
    for name, language in (("Amina", "ar"), ("Erik", "sv"), ("Hodan", "so"),
                           ("Dariush", "fa"), ("Sven", "sv")):
        people[name] = enrol(db, MONDAY, w, name, language, attendance_required=True)
        # Their information session was the Friday before: the check-in starts Monday.
        people[name][1].intake_on = date(2026, 2, 27)
    # Noor was invited but has not been to the information session: no check-in yet.
    people["Noor"] = enrol(db, MONDAY, w, "Noor", "sv", attendance_required=True)
    closed_days.add(db, MONDAY, w.centre, date(2026, 3, 6), "staff training", actor=None)
    tuesday = local(2026, 3, 3, 9, 0)
    follow_up.mark(db, tuesday, w.coach, people["Erik"][1].id, tuesday.date(),
                   AttendanceStatus.PRESENT)
    absences.report(db, MONDAY, people["Hodan"][0], AbsenceReason.ILL, date(2026, 3, 4),
                    date(2026, 3, 5))
    reachability.mark_unreachable(db, MONDAY, people["Dariush"][0].id)
    enrolment_service.close(db, MONDAY, w.coach, people["Sven"][1].id, "work")
    return w, people


def test_check_in_preview_is_what_the_planner_plans_for_each_aspirant(db):
    w, _people = _check_in_world(db)
    [rule] = reminder_rules.rules_for(db, w.centre.id, EventKind.CHECK_IN)
    draft = RuleSpec(EventKind.CHECK_IN, Audience.ASPIRANT, offset_minutes=-30)
    rows_before = db.scalar(select(func.count(OutboxMessage.id)))

    found = forecast.forecast(db, MONDAY, draft, scope_centre_id=None, rule_id=rule.id,
                              may_see_names=lambda _centre: True)

    # The same draft through the planner, aspirant by aspirant and day by day.
    planner = forecast._DraftPlanner(db, MONDAY, EventKind.CHECK_IN, {
        w.centre.id: [forecast.draft_rule(reminder_rules.validate(draft), None, rule.id)]})
    planner.preload([w.centre.id])
    open_enrolments = events.enrolments(db, Enrolment.left_at.is_(None))
    days = [MONDAY.date() + timedelta(days=offset) for offset in range(15)]
    recorded = events.recorded_days(db, [e.id for e in open_enrolments], days[0], days[-1])
    expected = set()
    for enrolment in open_enrolments:
        for day in days:
            for item in planner.check_in(enrolment, day, (enrolment.id, day) in recorded):
                if MONDAY <= item.due_at < found.last:
                    expected.add((item.recipient.name, item.due_at))
    got = {(m.recipient_name, m.due_at) for m in found.messages}
    assert got == expected
    by_name = {}
    for name, due in got:
        by_name.setdefault(name, set()).add(due.astimezone(MONDAY.tzinfo).date())
    assert by_name["Amina"] == {date(2026, 3, d) for d in (2, 3, 4, 5, 9, 10, 11, 12, 13)}
    assert date(2026, 3, 3) not in by_name["Erik"]  # checked in already
    assert not {date(2026, 3, 4), date(2026, 3, 5)} & by_name["Hodan"]
    assert "Dariush" not in by_name and "Sven" not in by_name and "Noor" not in by_name
    # 08:00 is the end of the night's quiet hours and the window opens 08:30: at 08:00.
    assert {due.astimezone(MONDAY.tzinfo).time().isoformat("minutes") for _, due in got} \
        == {"08:00"}
    # The closed Friday: the four whose check-in has begun, not Noor (no intake yet).
    assert [(c.day, c.aspirants) for c in found.no_check_in] == [(date(2026, 3, 6), 4)]
    # Nothing was stored by looking (the stand-in aspirant least of all).
    db.flush()
    assert db.scalar(select(func.count(OutboxMessage.id))) == rows_before
    assert db.scalar(select(func.count(Person.id)).where(Person.display_name == "")) == 0


def test_a_working_day_deadline_reminder_moves_with_a_closed_day(db):
    w = world(db, MONDAY)
    _amina, enrolment = enrol(db, MONDAY, w, "Amina", "ar")
    # The first plan is due on Monday 9 March (five working days after 2 March).
    milestones.on_info_session_attended(db, MONDAY, enrolment.id, MONDAY.date())
    spec = RuleSpec(EventKind.FIRST_PLAN, Audience.ASPIRANT, offset_days=-2, working_days=True,
                    at_local_time=None)
    plain = forecast.forecast(db, MONDAY, spec, scope_centre_id=None)
    assert [(m.due_at, m.closed_day_moved) for m in plain.messages] == [
        (local(2026, 3, 5, 9, 0), False)]
    closed_days.add(db, MONDAY, w.centre, date(2026, 3, 6), actor=None)
    moved = forecast.forecast(db, MONDAY, spec, scope_centre_id=None)
    assert [(m.due_at, m.closed_day_moved) for m in moved.messages] == [
        (local(2026, 3, 4, 9, 0), True)]
    assert moved.messages[0].recipient_name is None  # no names unless the viewer may


def test_a_general_draft_leaves_out_centres_with_rules_of_their_own(db):
    w = world(db, MONDAY)
    enrol(db, MONDAY, w, "Amina", "ar")
    own = reminder_rules.create(db, MONDAY, RuleSpec(EventKind.REVIEW, Audience.COACH,
                                                     offset_days=-1),
                                job_centre=w.centre)
    general = forecast.forecast(db, MONDAY, RuleSpec(EventKind.REVIEW, Audience.COACH,
                                                     offset_days=-3), scope_centre_id=None)
    assert general.centre_ids == []
    first_own = forecast.forecast(db, MONDAY, RuleSpec(EventKind.INFO_SESSION,
                                                       Audience.ASPIRANT, offset_days=-3),
                                  scope_centre_id=w.centre.id)
    assert first_own.replaces_general == 2  # the general -1d and -2h rules
    assert db.get(ReminderRule, own.id).enabled
