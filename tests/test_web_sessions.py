"""Information sessions in the console: a calendar per job centre with places and bookings,
attendance taken from a list (the first plan follows, no-shows are offered a new time),
and cancelling with notice to everyone booked. Staff see only their own centres."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    InfoSession,
    MilestoneKind,
    Person,
    PlanMilestone,
    Role,
)
from tests import factories
from tests.conftest import local
from tests.reminder_support import book, cast, enrol, session_at
from tests.web_support import console  # noqa: F401  (fixture)


def _world(harness):
    """Kista: Amina and Erik (Johan's aspirants) and Sven (another coach's) booked on
    Tuesday 10:00; a second session on Thursday with no one booked."""
    people = cast(harness, ("Amina", "ar"), ("Erik", "sv"))
    now = harness.clock.now()
    with harness.db() as db:
        other_coach = factories.staff(db, now, Role.COACH, people.world.centre, name="Ulla",
                                      telegram_user_id=harness.phone("Ulla", "sv").id)
        world = people.world
        sven, _ = enrol(db, now, world, "Sven", "sv",
                        telegram_user_id=harness.phone("Sven", "sv").id)
        sven_enrolment = sven.id
        session = session_at(db, now, world, local(2026, 3, 3, 10, 0), capacity=12)
        session_at(db, now, world, local(2026, 3, 5, 13, 0))
        for name in ("Amina", "Erik"):
            book(db, now, db.get(Person, people.ids[name]), session)
        book(db, now, sven, session)
        from bot.models import Enrolment

        db.scalar(select(Enrolment).where(Enrolment.aspirant_id == sven_enrolment)
                  ).coach_id = other_coach.id
        session_id = session.id
    return people, session_id


def _bookings(harness, session_id):
    with harness.db() as db:
        return {db.get(Person, b.aspirant_id).display_name: b.status for b in db.scalars(
            select(Booking).where(Booking.info_session_id == session_id))}


async def test_the_calendar_shows_each_sessions_places_and_bookings(harness, console):  # noqa: F811
    people, _session_id = _world(harness)
    browser = await console.browser()
    await browser.sign_in(people.admin)
    await browser.get("/sessions")
    text = browser.text
    assert "Jobbtorg Kista: Mon 2 Mar – Sun 29 Mar" in text
    assert "Tuesday, 3 March 2026" in text and "Thursday, 5 March 2026" in text
    assert "10:00–12:00 Kistagången 2, 164 40 Kista Svenska 3 of 12" in text
    assert "13:00–15:00 Kistagången 2, 164 40 Kista Svenska 0 of 20" in text
    await browser.get("/sessions?from=2026-03-30")
    assert "No information sessions in these weeks." in browser.text
    await browser.get("/sessions?from=not-a-date")
    assert browser.status == 200  # an unreadable date shows this week


async def test_attendance_is_taken_from_a_list(harness, console):  # noqa: F811
    people, session_id = _world(harness)
    browser = await console.browser()
    await browser.sign_in(people.admin)
    await browser.get(f"/sessions/{session_id}")
    # Before the session starts there is nothing to record.
    assert 'action="/sessions/' not in browser.page.split("Bookings", 1)[1].split(
        "Cancel session")[0]
    assert "Attendance can be recorded once the session has started." in browser.text

    harness.clock.set(local(2026, 3, 3, 10, 5))
    await browser.sign_in(people.admin)  # a new day: signed in again
    await browser.get("/sessions")
    assert "attendance not recorded yet: 3" in browser.text
    await browser.get(f"/sessions/{session_id}")
    assert "Who came to the information session on Tuesday, 3 March 2026 at 10:00?" \
        in browser.text
    with harness.db() as db:
        ids = {db.get(Person, b.aspirant_id).display_name: b.id for b in db.scalars(
            select(Booking).where(Booking.info_session_id == session_id))}
    await browser.post(f"/sessions/{session_id}/attendance",
                       {f"booking_{ids['Amina']}": "came", f"booking_{ids['Erik']}": "absent"})
    assert browser.url.endswith(f"/sessions/{session_id}?done=saved")
    assert "Attendance saved." in browser.text
    assert _bookings(harness, session_id) == {"Amina": BookingStatus.ATTENDED,
                                              "Erik": BookingStatus.NO_SHOW,
                                              "Sven": BookingStatus.BOOKED}
    with harness.db() as db:
        # Amina came: her first plan is due five working days later. Erik is offered a
        # new time; the outbox has it, and the audit log has who recorded what.
        [first] = db.scalars(select(PlanMilestone).where(
            PlanMilestone.kind == MilestoneKind.FIRST_PLAN))
        assert first.due_on.isoformat() == "2026-03-10"
        actions = [e.action for e in db.scalars(select(AuditEntry).where(
            AuditEntry.action.like("booking.%")).order_by(AuditEntry.id))]
        assert actions[-2:] == ["booking.attended", "booking.no_show"]
    report = await harness.dispatch()
    assert report.sent >= 1
    erik = people.aspirants["Erik"]
    assert any("Vi saknade dig" in text or "missed you" in text for text in erik.texts)

    # A wrong mark is corrected the same way.
    await browser.post(f"/sessions/{session_id}/attendance",
                       {f"booking_{ids['Erik']}": "came"})
    assert _bookings(harness, session_id)["Erik"] == BookingStatus.ATTENDED


async def test_a_coach_records_only_their_own_aspirants(harness, console):  # noqa: F811
    people, session_id = _world(harness)
    harness.clock.set(local(2026, 3, 3, 10, 5))
    browser = await console.browser()
    await browser.sign_in(people.coach)
    await browser.get(f"/sessions/{session_id}")
    assert "Amina" in browser.text and "Erik" in browser.text
    assert not re.search(r"\bSven\b", browser.text)
    assert "1 bokning till av aspiranter du inte följer." in browser.text
    with harness.db() as db:
        sven = db.scalar(select(Booking).join(Person, Person.id == Booking.aspirant_id).where(
            Person.display_name == "Sven"))
    await browser.post(f"/sessions/{session_id}/attendance", {f"booking_{sven.id}": "came"})
    assert browser.status == 404
    assert _bookings(harness, session_id)["Sven"] == BookingStatus.BOOKED
    # No cancelling for a coach, not even by typing the address.
    await browser.get(f"/sessions/{session_id}/cancel")
    assert browser.status == 403


async def test_cancelling_tells_everyone_booked(harness, console):  # noqa: F811
    people, session_id = _world(harness)
    browser = await console.browser()
    await browser.sign_in(people.admin)
    await browser.get(f"/sessions/{session_id}")
    await browser.get(f"/sessions/{session_id}/cancel")
    assert "Cancel the information session on Tuesday, 3 March 2026 at 10:00?" \
        in browser.text
    assert "3 booked aspirants will be told and offered other times." in browser.text
    await browser.post(f"/sessions/{session_id}/cancel")
    assert browser.url.endswith(f"/sessions/{session_id}?done=cancelled")
    assert "The information session is cancelled." in browser.text
    assert "This session is cancelled." in browser.text
    with harness.db() as db:
        assert db.get(InfoSession, session_id).cancelled_at is not None
    assert set(_bookings(harness, session_id).values()) == {BookingStatus.CANCELLED}
    await harness.dispatch()
    amina = people.aspirants["Amina"]
    # In her own language, with the other session to choose instead.
    from bot.i18n import translator

    heads = translator("ar")._("We are sorry: the information session on {date} at {time} has "
                               "been cancelled. Please choose a new time below.").split("{")[0]
    assert any(text.startswith(heads.strip()) for text in amina.texts)
    # Cancelled twice: a clear refusal, nothing more sent.
    await browser.get(f"/sessions/{session_id}/cancel")
    assert browser.status == 404


async def test_another_centres_sessions_do_not_exist_for_staff_elsewhere(harness, console):  # noqa: F811
    people, session_id = _world(harness)
    now = harness.clock.now()
    farsta_phone = harness.phone("Fatima", "en")
    with harness.db() as db:
        farsta = factories.centre(db, now, "Jobbtorg Farsta")
        factories.staff(db, now, Role.ADMIN, farsta, name="Fatima", language="en",
                        telegram_user_id=farsta_phone.id)
    browser = await console.browser()
    await browser.sign_in(farsta_phone)
    await browser.get("/sessions")
    assert "Jobbtorg Farsta" in browser.text and "Kista" not in browser.text
    await browser.get(f"/sessions?centre={people.world.centre.id}")
    assert browser.status == 404
    for path in (f"/sessions/{session_id}", f"/sessions/{session_id}/cancel"):
        await browser.get(path)
        assert browser.status == 404, path
        assert "Amina" not in browser.text
    await browser.get("/sessions")
    await browser.post(f"/sessions/{session_id}/cancel")
    assert browser.status == 404
    with harness.db() as db:
        assert db.get(InfoSession, session_id).cancelled_at is None


async def test_attendance_without_the_csrf_token_changes_nothing(harness, console):  # noqa: F811
    people, session_id = _world(harness)
    harness.clock.set(local(2026, 3, 3, 10, 5))
    browser = await console.browser()
    await browser.sign_in(people.admin)
    with harness.db() as db:
        booking_ids = list(db.scalars(select(Booking.id).where(
            Booking.info_session_id == session_id)))
    await browser.post(f"/sessions/{session_id}/attendance",
                       {f"booking_{b}": "came" for b in booking_ids}, csrf=False)
    assert browser.status == 403
    await browser.post(f"/sessions/{session_id}/cancel", csrf=False)
    assert browser.status == 403
    assert set(_bookings(harness, session_id).values()) == {BookingStatus.BOOKED}
    harness.clock.advance(timedelta(days=1))
