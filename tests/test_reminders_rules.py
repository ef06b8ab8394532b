"""Each kind of reminder rule, its audience and its texts; validation; rule edits."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import func, select

from bot.errors import DomainError
from bot.i18n import translator
from bot.models import (
    AbsenceReason,
    AbsenceReport,
    Audience,
    EventKind,
    MilestoneKind,
    OutboxStatus,
    ReminderRule,
)
from bot.presentation.render import render
from bot.services.plans import milestones
from bot.services.reminders import planner as reminders
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders.rules import RuleSpec
from tests.conftest import local
from tests.reminder_support import book, enrol, rows, session_at, world
from tests.reminder_support import reminders as planned


def _rules(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count(ReminderRule.id)))


def test_session_reminders_the_day_before_and_two_hours_before(db, clock):
    now = clock.now()
    w = world(db, now)
    amina, _ = enrol(db, now, w)
    session = session_at(db, now, w, local(2026, 3, 5, 10, 0))
    book(db, now, amina, session)
    found = rows(db, kind="reminder.info_session")
    assert [r.due_at for r in found] == [local(2026, 3, 4, 10, 0), local(2026, 3, 5, 8, 0)]
    assert {r.recipient_id for r in found} == {amina.id}
    # Not worth sending once the session has started.
    assert {r.expires_at for r in found} == {session.starts_at}
    text = render(found[0], translator("en")).text
    assert "Thursday, 5 March 2026" in text and "10:00" in text and "Kistagången" in text


def test_a_rule_after_the_session_reminds_the_coach_to_record_attendance(db, clock):
    now = clock.now()
    w = world(db, now)
    reminder_rules.create(db, now, RuleSpec(EventKind.INFO_SESSION, Audience.COACH,
                                            offset_minutes=180))
    amina, _ = enrol(db, now, w)
    book(db, now, amina, session_at(db, now, w, local(2026, 3, 5, 10, 0)))
    [row] = rows(db, kind="reminder.info_session", recipient=w.coach)
    assert row.due_at == local(2026, 3, 5, 13, 0)
    assert row.expires_at == local(2026, 3, 6, 0, 0)
    assert "Please record whether Amina came" in render(row, translator("en")).text


def test_plan_deadline_reminders_before_on_the_day_and_when_overdue(db, clock):
    now = clock.now()
    w = world(db, now)
    amina, enrolment = enrol(db, now, w, language="sv")
    milestone = milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 2))
    assert milestone.due_on == date(2026, 3, 9)  # five working days after Monday
    at_nine = time(9, 0)
    expected = {
        amina.id: [local(2026, 3, 5, 9, 0), local(2026, 3, 9, 9, 0)],
        w.coach.id: [local(2026, 3, 5, 9, 0), local(2026, 3, 9, 9, 0), local(2026, 3, 10, 9, 0)],
        w.lead.id: [local(2026, 3, 10, 9, 0)],
    }
    found = rows(db, kind="reminder.first_plan")
    for person_id, times in expected.items():
        assert [r.due_at for r in found if r.recipient_id == person_id] == times
    assert all(r.due_at.astimezone(local(2026, 3, 2).tzinfo).time() == at_nine for r in found)
    en = translator("en")
    texts = {(r.recipient_id, r.due_at): render(r, en).text for r in found}
    assert "first job plan is due on Monday, 9 March 2026" in texts[(amina.id,
                                                                      local(2026, 3, 5, 9))]
    assert texts[(w.lead.id, local(2026, 3, 10, 9))] == (
        "Overdue: the first job plan of Amina (coach: Johan) was due on Monday, 9 March 2026.")
    coach_overdue = next(r for r in found if r.recipient_id == w.coach.id
                         and r.due_at == local(2026, 3, 10, 9))
    # The coach can mark it done from the reminder.
    markup = render(coach_overdue, en).reply_markup
    assert markup.inline_keyboard[0][0].callback_data == f"pl:d:{milestone.id}"


def test_daily_check_in_reminders_for_aspirants_with_a_requirement(db, clock):
    now = clock.now()  # Monday 08:00
    w = world(db, now)
    daily, daily_enrolment = enrol(db, now, w, "Amina", attendance_required=True)
    free, free_enrolment = enrol(db, now, w, "Erik", "sv", attendance_required=False)
    reminders.plan_horizon(db, now)
    # No reminder before the requirement starts, the day after the intake.
    assert rows(db, kind="reminder.check_in") == []
    for enrolment in (daily_enrolment, free_enrolment):
        milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 2, 27))
    reminders.plan_horizon(db, now)
    assert [r.due_at for r in rows(db, kind="reminder.check_in")] == [
        local(2026, 3, 2, 8, 15), local(2026, 3, 3, 8, 15)]
    assert {r.recipient_id for r in rows(db, kind="reminder.check_in")} == {daily.id}
    assert "Check-in opens at 08:30" in render(rows(db, kind="reminder.check_in")[0],
                                                      translator("en")).text
    # An absence reported for Tuesday cancels that day's reminder when planning again.
    db.add(AbsenceReport(enrolment_id=daily_enrolment.id, first_day=date(2026, 3, 3),
                         last_day=date(2026, 3, 3), reason=AbsenceReason.ILL, reported_at=now,
                         reported_by_id=daily.id))
    db.flush()
    reminders.plan_horizon(db, now)
    assert [r.due_at for r in rows(db, kind="reminder.check_in")] == [local(2026, 3, 2, 8, 15)]
    assert [r.skip_reason for r in rows(db, kind="reminder.check_in",
                                        status=OutboxStatus.CANCELLED)] == ["rescheduled"]
    assert free.id not in {r.recipient_id
                           for r in rows(db, kind="reminder.check_in", status=None)}


def test_no_check_in_reminder_on_a_weekend_or_public_holiday(db, clock):
    clock.set(local(2026, 4, 2, 12, 0))  # Maundy Thursday afternoon
    now = clock.now()
    w = world(db, now)
    _, enrolment = enrol(db, now, w, attendance_required=True)
    milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 26))
    reminders.plan_horizon(db, now)
    assert rows(db, kind="reminder.check_in") == []  # Good Friday is a public holiday
    clock.set(local(2026, 4, 6, 12, 0))  # Easter Monday
    reminders.plan_horizon(db, clock.now())
    assert [r.due_at for r in rows(db, kind="reminder.check_in")] == [local(2026, 4, 7, 8, 15)]


def test_rule_texts_per_language_fall_back_to_the_default_language(db, clock):
    now = clock.now()
    w = world(db, now, rules=False)
    reminder_rules.create(db, now, RuleSpec(
        EventKind.INFO_SESSION, Audience.ASPIRANT, offset_days=-1,
        texts={"sv": "Hej {name}! Infomöte {date} kl. {time}.",
               "ar": "مرحبا {name}، الاجتماع {date}"}))
    session = session_at(db, now, w, local(2026, 3, 5, 10, 0))
    amina, _ = enrol(db, now, w, "Amina", "ar")
    john, _ = enrol(db, now, w, "John", "en")
    book(db, now, amina, session)
    book(db, now, john, session)
    by_person = {r.recipient_id: r for r in rows(db, kind="reminder.info_session")}
    arabic = render(by_person[amina.id], translator("ar"), "sv").text
    assert arabic.startswith("مرحبا") and "Amina" in arabic
    # No English text: the default language's text, not the built-in one.
    english = render(by_person[john.id], translator("en"), "sv").text
    assert english.startswith("Hej John! Infomöte") and "10:00" in english
    # A rule without texts of its own uses the built-in text in the reader's language.
    assert render(by_person[john.id], translator("en"), "fa").text.startswith("Reminder:")


@pytest.mark.parametrize(("spec", "problem"), [
    (RuleSpec(EventKind.INFO_SESSION, Audience.ASPIRANT, offset_days=-400), "at most"),
    (RuleSpec(EventKind.INFO_SESSION, Audience.ASPIRANT, offset_minutes=-20000), "at most"),
    (RuleSpec(EventKind.INFO_SESSION, Audience.ASPIRANT, working_days=True), "Working days"),
    (RuleSpec(EventKind.CHECK_IN, Audience.COACH), "aspirants only"),
    (RuleSpec(EventKind.CHECK_IN, Audience.ASPIRANT, offset_days=-1), "on the day"),
    (RuleSpec("meeting", Audience.ASPIRANT), "Unknown event"),  # type: ignore[arg-type]
    (RuleSpec(EventKind.REVIEW, "boss"), "Unknown audience"),  # type: ignore[arg-type]
    (RuleSpec(EventKind.REVIEW, Audience.COACH, texts={"xx": "Hi"}), "Unknown language"),
    (RuleSpec(EventKind.REVIEW, Audience.COACH, texts={"en": "Hi {place}"}), "unknown placeholder"),
    (RuleSpec(EventKind.REVIEW, Audience.COACH, texts={"en": "Hi {name"}), "broken placeholder"),
    (RuleSpec(EventKind.REVIEW, Audience.COACH, texts={"en": "Hi {date:%Y}"}), "broken"),
    (RuleSpec(EventKind.REVIEW, Audience.COACH, at_local_time=time(9, 0, 30)), "whole minutes"),
])
def test_a_bad_rule_is_refused(spec, problem):
    with pytest.raises(DomainError) as refused:
        reminder_rules.validate(spec)
    assert problem in refused.value.message.format(**refused.value.params)


def test_a_refused_rule_changes_nothing(db, clock):
    now = clock.now()
    world(db, now)
    before = _rules(db)
    with pytest.raises(DomainError):
        reminder_rules.create(db, now, RuleSpec(EventKind.REVIEW, Audience.COACH,
                                                texts={"en": "Hi {place}"}))
    assert _rules(db) == before


def test_a_duplicate_rule_is_refused(db, clock):
    now = clock.now()
    world(db, now)
    with pytest.raises(DomainError, match="already a rule"):
        reminder_rules.create(db, now, RuleSpec(EventKind.INFO_SESSION, Audience.ASPIRANT,
                                                offset_days=-1))


def test_offsets_are_read_from_short_text():
    assert reminder_rules.parse_offset("-1d") == (-1, 0, False)
    assert reminder_rules.parse_offset("-2h") == (0, -120, False)
    assert reminder_rules.parse_offset("-30m") == (0, -30, False)
    assert reminder_rules.parse_offset("+1wd") == (1, 0, True)
    assert reminder_rules.parse_offset("0") == (0, 0, False)
    with pytest.raises(DomainError):
        reminder_rules.parse_offset("tomorrow")
    rule = RuleSpec(EventKind.REVIEW, Audience.COACH, offset_days=-2, working_days=True,
                    at_local_time=time(9, 0))
    assert reminder_rules.format_offset(rule) == "-2wd 09:00"


def test_editing_a_rule_replans_without_duplicates(db, clock):
    now = clock.now()
    w = world(db, now)
    amina, _ = enrol(db, now, w)
    booking = book(db, now, amina, session_at(db, now, w, local(2026, 3, 5, 10, 0)))
    key = reminders.booking_key(booking.id)
    day_before = db.scalar(select(ReminderRule).where(ReminderRule.offset_days == -1,
                                                      ReminderRule.event_kind ==
                                                      EventKind.INFO_SESSION))
    reminder_rules.update(db, now, day_before.id, offset_days=-2)
    assert [r.due_at for r in rows(db, event_key=key)] == [local(2026, 3, 3, 10, 0),
                                                           local(2026, 3, 5, 8, 0)]
    [old] = rows(db, event_key=key, status=OutboxStatus.CANCELLED)
    assert (old.due_at, old.skip_reason) == (local(2026, 3, 4, 10, 0), "rule_changed")
    # Planning again changes nothing.
    reminders.refresh_centre(db, now, None)
    reminders.refresh_booking(db, now, booking)
    assert len(rows(db, event_key=key)) == 2
    # Disabling stops it; enabling brings it back once.
    reminder_rules.set_enabled(db, now, day_before.id, False)
    assert [r.due_at for r in rows(db, event_key=key)] == [local(2026, 3, 5, 8, 0)]
    reminder_rules.set_enabled(db, now, day_before.id, True)
    reminder_rules.set_enabled(db, now, day_before.id, True)
    assert [r.due_at for r in rows(db, event_key=key)] == [local(2026, 3, 3, 10, 0),
                                                           local(2026, 3, 5, 8, 0)]
    # A new text reaches the rows already planned.
    reminder_rules.update(db, now, day_before.id, texts={"ar": "غداً {time}"})
    assert rows(db, event_key=key)[0].params["_texts"] == {"ar": "غداً {time}"}


def test_a_centre_s_own_rules_replace_the_general_ones(db, clock):
    now = clock.now()
    w = world(db, now)
    reminder_rules.create(db, now, RuleSpec(EventKind.INFO_SESSION, Audience.ASPIRANT,
                                            offset_minutes=-60), job_centre=w.centre)
    amina, _ = enrol(db, now, w)
    book(db, now, amina, session_at(db, now, w, local(2026, 3, 5, 10, 0)))
    assert [r.due_at for r in rows(db, kind="reminder.info_session")] == [
        local(2026, 3, 5, 9, 0)]


def test_default_rules_are_the_ones_the_issue_describes():
    specs = reminder_rules.default_rules()
    session = {(s.offset_days, s.offset_minutes) for s in specs
               if s.event_kind == EventKind.INFO_SESSION}
    assert session == {(-1, 0), (0, -120)}
    for kind in reminder_rules.MILESTONE_EVENTS:
        mine = [(s.audience, s.offset_days, s.working_days) for s in specs if s.event_kind == kind]
        assert (Audience.ASPIRANT, -2, True) in mine and (Audience.ASPIRANT, 0, False) in mine
        assert (Audience.COACH, 1, True) in mine and (Audience.TEAM_LEAD, 1, True) in mine
    for spec in specs:
        reminder_rules.validate(spec)


def test_installing_the_defaults_twice_creates_them_once(db, clock):
    now = clock.now()
    world(db, now)
    assert reminder_rules.install_defaults(db, now) == []
    assert _rules(db) == len(reminder_rules.default_rules())


def test_forgetting_an_aspirant_cancels_reminders_about_them_and_blanks_names(db, clock):
    """Planned rows hold the aspirant's name until sent (also those for the coach)."""
    now = clock.now()
    w = world(db, now)
    amina, enrolment = enrol(db, now, w)
    book(db, now, amina, session_at(db, now, w, local(2026, 3, 5, 10, 0)))
    milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 2))
    about_her = planned(db)
    assert {r.recipient_id for r in about_her} == {amina.id, w.coach.id, w.lead.id}
    assert reminders.forget_aspirant(db, amina) == len(about_her)
    assert planned(db) == []
    assert all(r.params == {} for r in planned(db, status=None))


def test_every_milestone_kind_has_its_reminders(db, clock):
    now = clock.now()
    w = world(db, now)
    amina, enrolment = enrol(db, now, w, language="en")
    first = milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 2))
    (deepened,) = [m for m in milestones.plan_of(db, enrolment.id)
                   if m.kind == MilestoneKind.DEEPENED_PLAN]
    for milestone in (first, deepened):
        milestones.mark_done(db, now, milestone.id, actor=w.coach)
        done = milestones.confirm(db, now, amina, milestone.id, agree=True)
    review = done.next
    assert rows(db, kind="reminder.first_plan") == []
    assert rows(db, kind="reminder.deepened_plan") == []
    found = rows(db, kind="reminder.review")
    assert review.due_on == date(2026, 6, 2)  # three months after 2 March, a Tuesday
    assert len(found) == 6  # aspirant and coach twice each, coach and team lead overdue
    assert "plan review" in render(found[0], translator("en")).text
