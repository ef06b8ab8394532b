"""The engine: session edits and cancellations, rebooking, and reminders that are no
longer meaningful when their time comes (after downtime, after a change)."""

from __future__ import annotations

from datetime import date

from bot.db import unit_of_work
from bot.models import Booking, BookingStatus, OutboxStatus, Person, PlanMilestone
from bot.services.plans import milestones
from bot.services.reminders import planner as reminders
from bot.services.sessions import info_sessions
from tests.conftest import local
from tests.reminder_support import Sender, book, enrol, rows, session_at, world


def _setup(sessions, clock):  # type: ignore[no-untyped-def]
    """Two aspirants (Arabic, Swedish) booked on Thursday 10:00; Friday has free places."""
    now = clock.now()
    with unit_of_work(sessions) as db:
        w = world(db, now)
        amina, _ = enrol(db, now, w, "Amina", "ar")
        erik, _ = enrol(db, now, w, "Erik", "sv")
        thursday = session_at(db, now, w, local(2026, 3, 5, 10, 0))
        friday = session_at(db, now, w, local(2026, 3, 6, 10, 0))
        bookings = [book(db, now, amina, thursday).id, book(db, now, erik, thursday).id]
        return w, amina, erik, thursday.id, friday.id, bookings


async def test_moving_a_session_moves_its_reminders_and_tells_the_booked(sessions, clock,
                                                                         database_url):
    w, amina, erik, thursday, friday, bookings = _setup(sessions, clock)
    now = clock.now()
    with unit_of_work(sessions) as db:
        changed = info_sessions.update(db, now, thursday, actor=w.admin,
                                       starts_at=local(2026, 3, 4, 13, 0))
        assert changed == ["starts_at", "ends_at"]
        key = reminders.booking_key(bookings[0])
        assert [r.due_at for r in rows(db, event_key=key)] == [local(2026, 3, 3, 13, 0),
                                                               local(2026, 3, 4, 11, 0)]
        old = rows(db, event_key=key, status=OutboxStatus.CANCELLED)
        assert {r.skip_reason for r in old} == {"session_changed"}
        assert len(old) == 2
        # The same values again: nothing changes, nobody is told twice.
        assert info_sessions.update(db, now, thursday, actor=w.admin,
                                    starts_at=local(2026, 3, 4, 13, 0)) == []
        assert len(rows(db, kind=info_sessions.SESSION_CHANGED)) == 2
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(amina, erik, w.coach)
        report = await sender.run()
        assert report.sent >= 2
        # Each in their own language: the date is "Wednesday 4 March" in Arabic and Swedish.
        for person, booking_id, weekday in ((amina, bookings[0], "الأربعاء، 4 مارس"),
                                            (erik, bookings[1], "onsdag 4 mars")):
            [notice] = [m for m in sender.messages(person) if "rb:" in str(m)]
            assert weekday in notice["text"]
            data = [b["callback_data"] for row in notice["reply_markup"]["inline_keyboard"]
                    for b in row]
            assert data == [f"rb:{friday}", f"rm:c:{booking_id}"]
    with unit_of_work(sessions) as db:
        # Sent notices keep no copy of what they said.
        assert all(r.params == {} for r in rows(db, kind=info_sessions.SESSION_CHANGED,
                                                status=OutboxStatus.SENT))


async def test_cancelling_a_session_stops_reminders_and_offers_other_times(sessions, clock,
                                                                          database_url):
    w, amina, erik, thursday, friday, bookings = _setup(sessions, clock)
    now = clock.now()
    with unit_of_work(sessions) as db:
        assert info_sessions.cancel(db, now, thursday, actor=w.admin) == 2
        for booking_id in bookings:
            assert db.get(Booking, booking_id).status == BookingStatus.CANCELLED
            key = reminders.booking_key(booking_id)
            assert rows(db, event_key=key) == []
            assert {r.skip_reason for r in rows(db, event_key=key,
                                                status=OutboxStatus.CANCELLED)} == {
                "session_cancelled"}
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(amina, erik, w.coach)
        await sender.run()
        [notice] = [m for m in sender.messages(erik) if "rb:" in str(m)]
        assert notice["reply_markup"]["inline_keyboard"] == [[{
            "text": notice["reply_markup"]["inline_keyboard"][0][0]["text"],
            "callback_data": f"rb:{friday}"}]]
        # The coach hears how many of their aspirants were booked on it: two.
        assert any(text.endswith(
            "Your aspirants who were booked on it: 2. They have been offered other times.")
            for text in sender.texts(w.coach))


def test_booking_another_time_moves_the_reminders(db, clock):
    now = clock.now()
    w = world(db, now)
    amina, _ = enrol(db, now, w)
    first = book(db, now, amina, session_at(db, now, w, local(2026, 3, 5, 10, 0)))
    second = book(db, now, amina, session_at(db, now, w, local(2026, 3, 10, 13, 0)))
    assert rows(db, event_key=reminders.booking_key(first.id)) == []
    assert [r.due_at for r in rows(db, kind="reminder.info_session")] == [
        local(2026, 3, 9, 13, 0), local(2026, 3, 10, 11, 0)]
    assert {r.event_key for r in rows(db, kind="reminder.info_session")} == {
        reminders.booking_key(second.id)}
    assert {r.skip_reason for r in rows(db, event_key=reminders.booking_key(first.id),
                                        status=OutboxStatus.CANCELLED)} == {"rebooked"}


async def test_after_downtime_a_session_reminder_past_its_start_is_skipped(sessions, clock,
                                                                          database_url):
    w, amina, erik, *_ = _setup(sessions, clock)
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(amina, erik, w.coach)
        await sender.run()  # the coach's notices about the new aspirants
        # The bot was down from Monday until Thursday 10:30, after the session started.
        clock.set(local(2026, 3, 5, 10, 30))
        report = await sender.run()
        assert report.sent == 0 and report.skipped == 4
    with unit_of_work(sessions) as db:
        skipped = rows(db, kind="reminder.info_session", status=OutboxStatus.SKIPPED)
        assert [r.skip_reason for r in skipped] == ["expired"] * 4
        assert all(r.params == {} for r in skipped)


async def test_a_reminder_overtaken_by_events_is_skipped_with_its_reason(sessions, clock,
                                                                        database_url):
    """Even if a change bypassed the planner, nothing outdated is sent."""
    now = clock.now()
    with unit_of_work(sessions) as db:
        w = world(db, now)
        amina, enrolment = enrol(db, now, w)
        booking = book(db, now, amina, session_at(db, now, w, local(2026, 3, 5, 10, 0)))
        milestone = milestones.on_info_session_attended(db, now, enrolment.id,
                                                        date(2026, 3, 2))
        db.get(Booking, booking.id).status = BookingStatus.CANCELLED
        db.get(PlanMilestone, milestone.id).done_at = now
    clock.set(local(2026, 3, 5, 9, 30))  # everything planned so far is due, none expired
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(amina, w.coach, w.lead)
        report = await sender.run()
    assert report.sent == 1  # only the notice that Amina joined
    with unit_of_work(sessions) as db:
        reasons = {(r.event_key.split(":")[0], r.skip_reason)
                   for r in rows(db, status=OutboxStatus.SKIPPED) if r.event_key}
        assert reasons == {("bk", "booking_cancelled"), ("ms", "milestone_done")}


async def test_reminders_for_a_done_milestone_stop_and_the_next_is_planned(sessions, clock,
                                                                          database_url):
    now = clock.now()
    with unit_of_work(sessions) as db:
        w = world(db, now)
        amina, enrolment = enrol(db, now, w, "Amina", "sv")
        first = milestones.on_info_session_attended(db, now, enrolment.id, date(2026, 3, 2))
    clock.set(local(2026, 3, 5, 9, 0))  # two working days before: the first reminder is due
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(amina, w.coach, w.lead)
        await sender.run()
        assert any("first job plan" in text for text in sender.texts(w.coach))
        with unit_of_work(sessions) as db:
            milestones.mark_done(db, clock.now(), first.id, actor=db.get(Person, w.coach.id))
            (deepened_plan,) = [m for m in milestones.plan_of(db, enrolment.id)
                                if m.done_at is None]
            assert deepened_plan.due_on == date(2026, 4, 2)  # a month after the intake
            assert rows(db, event_key=reminders.milestone_key(first.id)) == []
            assert {r.skip_reason for r in rows(db, event_key=reminders.milestone_key(first.id),
                                                status=OutboxStatus.CANCELLED)} == {
                "milestone_done"}
            assert rows(db, event_key=reminders.milestone_key(deepened_plan.id))
        clock.set(local(2026, 3, 12, 9, 0))
        before = len(sender.texts(w.coach))
        await sender.run()
        assert len(sender.texts(w.coach)) == before  # no first-plan reminders after done
        clock.set(local(2026, 4, 2, 9, 0))
        await sender.run()
        deepened = [t for t in sender.texts(w.coach) if "deepened job plan" in t]
        assert len(deepened) == 2  # two working days before (31 March) and on the day
