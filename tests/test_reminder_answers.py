"""One-tap answers on a session reminder: coming, not coming (→ rebook, coach told),
add to calendar (.ics), the place on a map. Buttons of others' bookings do nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar
from sqlalchemy import select

from bot.i18n import translator
from bot.models import AuditEntry, Booking, BookingStatus
from tests.conftest import local
from tests.reminder_support import book, cast, reminders, session_at


def _booked(harness, c):  # type: ignore[no-untyped-def]
    now = harness.clock.now()
    with harness.db() as db:
        thursday = session_at(db, now, c.world, local(2026, 3, 5, 10, 0))
        friday = session_at(db, now, c.world, local(2026, 3, 6, 13, 0))
        ids = {name: book(db, now, db.get(type(c.world.admin), person_id), thursday).id
               for name, person_id in c.ids.items()}
        return ids, thursday.id, friday.id


async def _reminded(harness, c):  # type: ignore[no-untyped-def]
    bookings, thursday, friday = _booked(harness, c)
    harness.clock.set(local(2026, 3, 4, 10, 0))  # the day before
    await harness.dispatch()
    return bookings, thursday, friday


async def test_the_reminder_has_the_one_tap_answers(harness):
    c = cast(harness, ("Amina", "ar"))
    bookings, _, _ = await _reminded(harness, c)
    amina = c.aspirants["Amina"]
    t = translator("ar")
    reminder = amina.find_button(data=f"rm:y:{bookings['Amina']}")[0]
    assert t.time(local(2026, 3, 5, 10, 0)) in reminder["text"]
    assert [b["callback_data"] for row in reminder["reply_markup"]["inline_keyboard"]
            for b in row] == [f"rm:{a}:{bookings['Amina']}" for a in "yncm"]


async def test_i_am_coming_keeps_the_calendar_and_map(harness):
    c = cast(harness, ("Amina", "en"))
    bookings, _, _ = await _reminded(harness, c)
    amina = c.aspirants["Amina"]
    await amina.press("I'm coming")
    assert harness.emulator.callback_answers[-1]["text"] == "Thank you! See you there."
    assert amina.buttons(amina.bot_messages[-1]) == ["📅 Add to calendar", "📍 Show the place"]
    with harness.db() as db:
        assert db.scalar(select(AuditEntry.action).where(
            AuditEntry.subject_id == bookings["Amina"],
            AuditEntry.action == "booking.confirm")) is not None


async def test_i_cannot_come_frees_the_place_tells_the_coach_and_offers_times(harness):
    c = cast(harness, ("Amina", "en"))
    bookings, _, friday = await _reminded(harness, c)
    amina = c.aspirants["Amina"]
    await amina.press("I can't come")
    assert amina.last_text.startswith("Your place has been cancelled and your coach has been told.")
    with harness.db() as db:
        assert db.get(Booking, bookings["Amina"]).status == BookingStatus.CANCELLED
        # Her remaining reminder (two hours before) is cancelled.
        assert reminders(db, kind="reminder.info_session") == []
    await harness.dispatch()
    assert "Amina" in c.coach.last_text
    await amina.press(data=f"rb:{friday}")
    with harness.db() as db:
        [pending] = {r.event_key for r in reminders(db, kind="reminder.info_session")}
        assert pending.startswith("bk:")


async def test_add_to_calendar_sends_an_ics_file(harness):
    c = cast(harness, ("Amina", "sv"))
    await _reminded(harness, c)
    amina = c.aspirants["Amina"]
    await amina.press("📅")
    document = amina.bot_messages[-1]["document"]
    assert document["file_name"] == "information-session-20260305.ics"
    _, content, _ = harness.emulator.files[document["file_id"]]
    [event] = Calendar.from_ical(content).walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert str(event["location"]) == "Kistagången 2, 164 40 Kista"


async def test_show_the_place_sends_a_venue(harness):
    c = cast(harness, ("Amina", "sv"))
    await _reminded(harness, c)
    amina = c.aspirants["Amina"]
    await amina.press("📍")
    venue = amina.bot_messages[-1]["venue"]
    assert venue["location"] == {"latitude": 59.4032, "longitude": 17.9448}
    assert venue["title"] == "Jobbtorg Kista"


async def test_buttons_of_someone_elses_booking_do_nothing(harness):
    c = cast(harness, ("Amina", "en"), ("Erik", "en"))
    bookings, _, _ = await _reminded(harness, c)
    erik = c.aspirants["Erik"]
    message_id = erik.bot_messages[-1]["message_id"]
    await erik.press_data(message_id, f"rm:n:{bookings['Amina']}")
    assert harness.emulator.callback_answers[-1]["text"] == "That booking no longer exists."
    await erik.press_data(message_id, "rb:999999")
    assert harness.emulator.callback_answers[-1]["text"] == "This button is no longer active."
    with harness.db() as db:
        assert db.get(Booking, bookings["Amina"]).status == BookingStatus.BOOKED
    # Staff cannot answer an aspirant's reminder either.
    await c.coach.press_data(c.coach.bot_messages[-1]["message_id"],
                             f"rm:y:{bookings['Amina']}")
    assert harness.emulator.callback_answers[-1]["text"] == translator("sv")._(
        "Sorry, this is not available to you.")


async def test_answers_on_a_session_that_is_over_say_so_and_send_nothing(harness):
    c = cast(harness, ("Amina", "en"))
    await _reminded(harness, c)
    amina = c.aspirants["Amina"]
    reminder, coming = amina.find_button("I'm coming")
    coming_data = coming["callback_data"]
    harness.clock.set(local(2026, 3, 5, 13, 0))  # the session was 10:00-12:00
    before = len(amina.bot_messages)
    await amina.press("📅", message=reminder)
    answer = harness.emulator.callback_answers[-1]
    assert answer["text"] == "That information session is over." and answer["show_alert"]
    assert len(amina.bot_messages) == before  # no calendar file
    assert "reply_markup" not in harness.emulator.find_message(amina.id,
                                                               reminder["message_id"])
    await amina.press_data(reminder["message_id"], coming_data)  # pressed from an old copy
    assert harness.emulator.callback_answers[-1]["text"] == "That information session is over."
