"""Plan milestones: the first plan from the information session, the next ones rolling
forward from the actual dates; /plan for coaches, "My plan" and "My schedule" for aspirants."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.errors import DomainError, NotFound
from bot.i18n import translator
from bot.models import MilestoneKind, Person, PlanMilestone, Role
from bot.services.plans import milestones
from tests import factories
from tests.conftest import local
from tests.reminder_support import book, cast, enrol, session_at, world


def test_attendance_starts_the_first_plan_once(db, clock):
    now = clock.now()
    w = world(db, now, rules=False)
    _, enrolment = enrol(db, now, w)
    first = milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 2))
    again = milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 4))
    assert again.id == first.id
    assert (first.kind, first.counted_from, first.due_on) == (
        MilestoneKind.FIRST_PLAN, date(2026, 3, 2), date(2026, 3, 9))
    with pytest.raises(NotFound):
        milestones.on_info_session_attended(db, now, 999_999, date(2026, 3, 2))


def test_each_milestone_rolls_forward_from_the_actual_date(db, clock):
    now = clock.now()
    w = world(db, now, rules=False)
    _, enrolment = enrol(db, now, w)
    first = milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 2))
    # Done two days late: the deepened plan counts from the day it was actually done.
    clock.set(local(2026, 3, 11, 14, 0))
    deepened = milestones.mark_done(db, clock.now(), first.id, actor=w.coach).next
    assert (deepened.kind, deepened.counted_from, deepened.due_on) == (
        MilestoneKind.DEEPENED_PLAN, date(2026, 3, 11), date(2026, 4, 13))  # 11 April: Sat
    clock.set(local(2026, 4, 1, 10, 0))
    review = milestones.mark_done(db, clock.now(), deepened.id, actor=w.coach).next
    assert (review.kind, review.due_on) == (MilestoneKind.REVIEW, date(2026, 7, 1))
    clock.set(local(2026, 6, 30, 10, 0))
    next_review = milestones.mark_done(db, clock.now(), review.id, actor=w.lead).next
    assert (next_review.kind, next_review.due_on) == (MilestoneKind.REVIEW, date(2026, 9, 30))
    with pytest.raises(DomainError, match="already marked as done"):
        milestones.mark_done(db, clock.now(), review.id, actor=w.coach)
    assert [m.kind for m in milestones.plan_of(db, enrolment.id)] == [
        MilestoneKind.FIRST_PLAN, MilestoneKind.DEEPENED_PLAN, MilestoneKind.REVIEW,
        MilestoneKind.REVIEW]


def test_only_the_aspirants_coach_or_a_lead_or_admin_marks_done(db, clock):
    now = clock.now()
    w = world(db, now, rules=False)
    other_coach = factories.staff(db, now, Role.COACH, w.centre, name="Other")
    _, enrolment = enrol(db, now, w)
    first = milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 2))
    with pytest.raises(NotFound):
        milestones.mark_done(db, now, first.id, actor=other_coach)
    assert db.get(PlanMilestone, first.id).done_at is None
    milestones.mark_done(db, now, first.id, actor=w.admin)


def test_a_coach_can_start_the_plan_without_an_information_session(db, clock):
    now = clock.now()
    w = world(db, now, rules=False)
    _, enrolment = enrol(db, now, w)
    first = milestones.start_plan(db, now, enrolment.id, actor=w.coach)
    assert (first.counted_from, first.due_on) == (date(2026, 3, 2), date(2026, 3, 9))
    with pytest.raises(DomainError, match="already started"):
        milestones.start_plan(db, now, enrolment.id, actor=w.coach)


def test_months_are_added_on_the_calendar():
    assert milestones.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert milestones.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert milestones.add_months(date(2026, 3, 11), 1) == date(2026, 4, 11)


# --- in chat ---------------------------------------------------------------------------------
def _plan(harness, c, name="Amina", attended=date(2026, 3, 2)):  # type: ignore[no-untyped-def]
    with harness.db() as db:
        enrolment = milestones.people.active_enrolment(db, db.get(Person, c.ids[name]))
        return milestones.on_info_session_attended(db, harness.clock.now(), enrolment.id,
                                                   attended).id, enrolment.id


async def test_coach_marks_the_first_plan_done_with_a_button(harness):
    c = cast(harness, ("Amina", "ar"), ("Erik", "sv"))
    first_id, _ = _plan(harness, c)
    coach = c.coach
    await coach.send("/plan")
    sv = translator("sv")
    assert coach.last_text.startswith(sv._("Plan milestones, most urgent first (page {page} of "
                                           "{pages}):", page=1, pages=1))
    assert coach.buttons()[0].startswith("⏳ Amina")
    assert "Erik" in coach.buttons()[1]
    await coach.press("Amina")
    assert "⏳" in coach.last_text
    await coach.press(data=f"pl:d:{first_id}")
    assert coach.last_text.startswith(sv._(
        "Done: {milestone}. Next: {next}, due on {date}.", milestone=sv._("First job plan"),
        next=sv._("Deepened job plan"), date=sv.short_date(date(2026, 4, 2))))
    assert "✅" in coach.last_text
    with harness.db() as db:
        done = db.get(PlanMilestone, first_id)
        assert done.done_at == harness.clock.now() and done.done_by_id is not None


async def test_a_coach_cannot_touch_another_coachs_aspirant(harness):
    c = cast(harness, ("Amina", "ar"))
    first_id, enrolment_id = _plan(harness, c)
    stranger = harness.phone("Olle", "en")
    with harness.db() as db:
        factories.staff(db, harness.clock.now(), Role.COACH, c.world.centre, name="Olle",
                        language="en", telegram_user_id=stranger.id)
    await stranger.send("/plan")
    assert stranger.last_text == "You have no aspirants to follow yet."
    message_id = stranger.bot_messages[-1]["message_id"]
    await stranger.press_data(message_id, f"pl:d:{first_id}")
    assert harness.emulator.callback_answers[-1]["text"] == "That aspirant is not in your caseload."
    await stranger.press_data(message_id, f"pl:a:{enrolment_id}")
    with harness.db() as db:
        assert db.get(PlanMilestone, first_id).done_at is None


async def test_the_aspirant_sees_their_plan_read_only(harness):
    c = cast(harness, ("Amina", "sv"))
    amina = c.aspirants["Amina"]
    await amina.send("/help")  # brings the menu keyboard
    await amina.tap_menu(translator("sv")._("My plan"))
    assert amina.last_text == translator("sv")._(
        "Your job plan starts at the information session: your coach makes your first "
        "job plan with you within five working days after it.")
    _plan(harness, c)
    await amina.send("/plan")
    sv = translator("sv")
    assert amina.last_text.startswith(sv._("Your job plan:"))
    assert sv._("{milestone}: due on {date}", milestone=sv._("First job plan"),
                date=sv.short_date(date(2026, 3, 9))) in amina.last_text
    assert amina.bot_messages[-1].get("reply_markup") is None  # nothing to press


async def test_my_schedule_shows_the_booking_and_deadlines_or_offers_a_time(harness):
    c = cast(harness, ("Amina", "en"))
    amina = c.aspirants["Amina"]
    with harness.db() as db:
        session_id = session_at(db, harness.clock.now(), c.world,
                                local(2026, 3, 5, 10, 0)).id
    await amina.send("/help")
    await amina.tap_menu("My schedule")
    assert "You have no information session booked." in amina.last_text
    await amina.press("Book an information session")
    assert amina.last_text == "Choose a time for your information session:"
    await amina.press(data=f"rb:{session_id}")
    assert amina.last_text.startswith("You are booked for the information session:")
    await amina.send("/schedule")
    assert "Information session:" in amina.last_text
    assert "Thursday, 5 March 2026" in amina.last_text
    assert "I can't come" in " ".join(amina.buttons())
    _plan(harness, c)
    await amina.send("/schedule")
    assert "Deadlines:" in amina.last_text and "First job plan: due on" in amina.last_text


async def test_coach_marks_done_from_the_reminder_itself(harness):
    c = cast(harness, ("Amina", "ar"))
    first_id, _ = _plan(harness, c)
    harness.clock.set(local(2026, 3, 5, 9, 0))  # two working days before the deadline
    await harness.dispatch()
    coach = c.coach
    await coach.press(data=f"pl:d:{first_id}")
    with harness.db() as db:
        assert db.get(PlanMilestone, first_id).done_at is not None
        assert db.scalar(select(PlanMilestone.kind).where(
            PlanMilestone.done_at.is_(None))) == MilestoneKind.DEEPENED_PLAN
    # Nothing more about the first plan reaches the coach.
    seen = len(coach.texts)
    harness.clock.set(local(2026, 3, 10, 9, 0))
    await harness.dispatch()
    assert not [t for t in coach.texts[seen:] if "first" in t.lower()]


def test_booking_then_attending_in_the_service(db, clock):
    """The path the check-in at the session takes (issue 5 calls on_info_session_attended)."""
    now = clock.now()
    w = world(db, now, rules=False)
    amina, enrolment = enrol(db, now, w)
    session = session_at(db, now, w, local(2026, 3, 3, 9, 0))
    booking = book(db, now, amina, session)
    with pytest.raises(DomainError, match="once the session has started"):
        milestones.record_booking_attendance(db, now, booking.id, True, actor=w.coach)
    clock.set(local(2026, 3, 3, 9, 30))
    milestones.record_booking_attendance(db, clock.now(), booking.id, True, actor=w.coach)
    [first] = milestones.plan_of(db, enrolment.id)
    assert first.due_on == date(2026, 3, 10)
