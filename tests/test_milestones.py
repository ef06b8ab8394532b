"""Plan milestones: the first and the deepened plan counted from the intake, reviews from
the last plan done, each done with two signatures (the coach's and the aspirant's); /plan
for coaches, "My plan" and "My schedule" for aspirants."""

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
    assert enrolment.intake_on == date(2026, 3, 2)  # the second visit changes nothing
    with pytest.raises(NotFound):
        milestones.on_info_session_attended(db, now, 999_999, date(2026, 3, 2))


def _sign(db, now, milestone, coach):  # type: ignore[no-untyped-def]
    """Both signatures: the coach marks the plan finished, the aspirant confirms it."""
    milestones.mark_done(db, now, milestone.id, actor=coach)
    aspirant = db.get(Person, db.get(milestones.Enrolment, milestone.enrolment_id).aspirant_id)
    return milestones.confirm(db, now, aspirant, milestone.id, agree=True)


def test_the_deepened_plan_is_due_a_month_after_intake_however_late_the_first_plan(db, clock):
    now = clock.now()
    w = world(db, now, rules=False)
    _, enrolment = enrol(db, now, w)
    first = milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 2))
    deepened = [m for m in milestones.plan_of(db, enrolment.id)
                if m.kind == MilestoneKind.DEEPENED_PLAN]
    assert [(m.counted_from, m.due_on) for m in deepened] == [
        (date(2026, 3, 2), date(2026, 4, 2))]
    # The first plan is finished two days late: the deepened plan does not move.
    clock.set(local(2026, 3, 11, 14, 0))
    assert _sign(db, clock.now(), first, w.coach).next is None
    assert [m.due_on for m in milestones.plan_of(db, enrolment.id)
            if m.kind == MilestoneKind.DEEPENED_PLAN] == [date(2026, 4, 2)]
    # A review three months after each finished plan.
    clock.set(local(2026, 4, 1, 10, 0))
    review = _sign(db, clock.now(), deepened[0], w.coach).next
    assert (review.kind, review.due_on) == (MilestoneKind.REVIEW, date(2026, 7, 1))
    clock.set(local(2026, 6, 30, 10, 0))
    milestones.mark_done(db, clock.now(), review.id, actor=w.lead)
    with pytest.raises(DomainError, match="already marked as done"):
        milestones.mark_done(db, clock.now(), review.id, actor=w.coach)
    # The aspirant confirms the next day: the next review counts from then.
    clock.set(local(2026, 7, 1, 9, 0))
    aspirant = db.get(Person, enrolment.aspirant_id)
    next_review = milestones.confirm(db, clock.now(), aspirant, review.id, agree=True).next
    assert (next_review.kind, next_review.due_on) == (MilestoneKind.REVIEW, date(2026, 10, 1))
    assert [m.kind for m in milestones.plan_of(db, enrolment.id)] == [
        MilestoneKind.FIRST_PLAN, MilestoneKind.DEEPENED_PLAN, MilestoneKind.REVIEW,
        MilestoneKind.REVIEW]


def test_a_plan_is_done_only_with_both_signatures(db, clock):
    now = clock.now()
    w = world(db, now, rules=False)
    amina, enrolment = enrol(db, now, w)
    first = milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 2))
    with pytest.raises(DomainError, match="not marked this plan as finished"):
        milestones.confirm(db, now, amina, first.id, agree=True)
    clock.set(local(2026, 3, 6, 15, 0))
    milestones.mark_done(db, clock.now(), first.id, actor=w.coach)
    assert milestones.completed_at(first) is None and milestones.awaiting_confirmation(first)
    assert milestones.awaiting_aspirant(db, enrolment.id) == [first]
    # "I have questions": the coach is told, the plan is not done.
    clock.set(local(2026, 3, 9, 10, 0))
    milestones.confirm(db, clock.now(), amina, first.id, agree=False)
    assert first.questions_at == clock.now() and milestones.completed_at(first) is None
    clock.set(local(2026, 3, 10, 11, 0))
    milestones.confirm(db, clock.now(), amina, first.id, agree=True)
    # Done on the later of the two signatures: the aspirant's, on 10 March.
    assert milestones.completed_at(first) == local(2026, 3, 10, 11, 0)
    with pytest.raises(DomainError, match="already confirmed"):
        milestones.confirm(db, clock.now(), amina, first.id, agree=True)
    someone = factories.staff(db, now, Role.ASPIRANT, w.centre, name="Someone")
    with pytest.raises(NotFound):
        milestones.confirm(db, clock.now(), someone, first.id, agree=True)


@pytest.mark.parametrize(("intake", "calendar_days", "first", "deepened"), [
    # An ordinary week: five working days later, and a month.
    (date(2026, 3, 2), False, date(2026, 3, 9), date(2026, 4, 2)),
    # Easter: Good Friday 3 April and Easter Monday 6 April are off.
    (date(2026, 4, 1), False, date(2026, 4, 10), date(2026, 5, 4)),  # 1 May off, 2-3 weekend
    # Calendar days: 1 April + 5 = Easter Monday, so Tuesday 7 April.
    (date(2026, 4, 1), True, date(2026, 4, 7), date(2026, 5, 4)),
    # Christmas: 24, 25, 26 (a Saturday), 31 December and 1 January are off.
    (date(2026, 12, 21), False, date(2026, 12, 30), date(2027, 1, 21)),
    (date(2026, 12, 21), True, date(2026, 12, 28), date(2027, 1, 21)),  # 26th: Saturday
    # Midsummer: Friday 19 June is Midsummer Eve; 20 June is Midsummer Day (a Saturday).
    (date(2026, 5, 20), True, date(2026, 5, 25), date(2026, 6, 22)),
    (date(2026, 6, 15), False, date(2026, 6, 23), date(2026, 7, 15)),
    # A month from 30 January ends on the last day of February, a Saturday in 2026.
    (date(2026, 1, 30), False, date(2026, 2, 6), date(2026, 3, 2)),
    # National Day, Saturday 6 June 2026: the month from 6 May lands on it.
    (date(2026, 5, 6), False, date(2026, 5, 13), date(2026, 6, 8)),
])
def test_deadline_table(db, clock, intake, calendar_days, first, deepened):
    """Deadlines against hand-computed dates: Swedish holidays, calendar-day mode, and one
    month after intake, every one moved off a day off."""
    from bot.services.reminders import settings as reminder_settings

    now = clock.now()
    w = world(db, now, rules=False)
    if calendar_days:
        reminder_settings.update(db, now, w.centre, deadline_calendar_days=True)
    _, enrolment = enrol(db, now, w)
    milestones.on_info_session_attended(db, now, enrolment.id, intake)
    plan = {m.kind: m.due_on for m in milestones.plan_of(db, enrolment.id)}
    assert plan == {MilestoneKind.FIRST_PLAN: first, MilestoneKind.DEEPENED_PLAN: deepened}


def test_reviews_three_months_on_land_on_the_next_working_day(db, clock):
    now = clock.now()
    w = world(db, now, rules=False)
    # From 25 September: Christmas Day, so Monday 28 December.
    assert milestones.months_due(db, w.centre.id, date(2026, 9, 25), 3) == date(2026, 12, 28)
    # From 30 November: 28 February 2027 is a Sunday, so 1 March.
    assert milestones.months_due(db, w.centre.id, date(2026, 11, 30), 3) == date(2027, 3, 1)


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
    assert enrolment.intake_on == date(2026, 3, 2)  # the three-party meeting is the intake
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


async def test_coach_marks_the_first_plan_done_and_the_aspirant_confirms_it(harness):
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
        "Marked finished: {milestone}. {name} is asked to confirm it in chat; it counts as "
        "done once they have.", milestone=sv._("First job plan"), name="Amina"))
    assert "✍️" in coach.last_text and "✅" not in coach.last_text
    with harness.db() as db:
        done = db.get(PlanMilestone, first_id)
        assert done.done_at == harness.clock.now() and done.confirmed_at is None
    # The aspirant is asked in her language, and confirms with one tap.
    amina = c.aspirants["Amina"]
    ar = translator("ar")
    await harness.dispatch()
    question = amina.bot_messages[-1]
    assert question["text"].startswith(ar._(
        "Your coach has marked your {milestone} as finished. Have you read it, and do you "
        "agree with it?", milestone=ar._("first job plan"))[:20])
    await amina.press(ar._("I have read my plan and agree"))
    assert amina.last_text.startswith("✅")
    with harness.db() as db:
        assert db.get(PlanMilestone, first_id).confirmed_at == harness.clock.now()
    await harness.dispatch()
    assert coach.last_text == sv._("{name} has confirmed their {milestone}: they have read it "
                                   "and agree.", name="Amina",
                                   milestone=sv._("first job plan"))


async def test_i_have_questions_tells_the_coach_and_the_plan_waits(harness):
    c = cast(harness, ("Erik", "en"))
    first_id, _ = _plan(harness, c, name="Erik")
    coach = c.coach
    with harness.db() as db:
        milestones.mark_done(db, harness.clock.now(), first_id,
                             actor=db.get(Person, c.world.coach.id))
    await harness.dispatch()
    erik = c.aspirants["Erik"]
    await erik.press("I have questions")
    assert erik.last_text.startswith("Your coach has been told that you have questions")
    await harness.dispatch()
    sv = translator("sv")
    assert coach.last_text == sv._("{name} has questions about their {milestone}. Please "
                                   "contact them.", name="Erik",
                                   milestone=sv._("first job plan"))
    # Under "My plan" the question stays open, with its buttons.
    await erik.send("/plan")
    assert "your coach marked it finished" in erik.texts[-2]
    assert "You told your coach you have questions." in erik.texts[-2]
    await erik.press("I have read my plan and agree")
    with harness.db() as db:
        assert milestones.completed_at(db.get(PlanMilestone, first_id)) is not None


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


async def test_the_aspirant_sees_their_plan(harness):
    c = cast(harness, ("Amina", "sv"))
    amina = c.aspirants["Amina"]
    await amina.send("/help")  # brings the menu keyboard
    await amina.tap_menu(translator("sv")._("My plan"))
    assert amina.last_text == translator("sv")._(
        "Your job plan starts at the group information session: your coach makes your "
        "first job plan with you within five working days after it.")
    _plan(harness, c)
    await amina.send("/plan")
    sv = translator("sv")
    assert amina.last_text.startswith(sv._("Your job plan:"))
    assert sv._("{milestone}: due on {date}", milestone=sv._("First job plan"),
                date=sv.short_date(date(2026, 3, 9))) in amina.last_text
    assert sv._("{milestone}: due on {date}", milestone=sv._("Deepened job plan"),
                date=sv.short_date(date(2026, 4, 2))) in amina.last_text
    assert amina.bot_messages[-1].get("reply_markup") is None  # nothing to confirm yet


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
    first, deepened = milestones.plan_of(db, enrolment.id)
    # A month from 3 March is Good Friday; Easter Monday is off too.
    assert (first.due_on, deepened.due_on) == (date(2026, 3, 10), date(2026, 4, 7))
    assert enrolment.intake_on == date(2026, 3, 3)
    # Recorded by mistake: the intake and the plans it started are withdrawn.
    milestones.record_booking_attendance(db, clock.now(), booking.id, False, actor=w.coach)
    assert milestones.plan_of(db, enrolment.id) == [] and enrolment.intake_on is None
