"""Presence stated honestly (issue 15, point 7): a location counts only as a live location
shared for a few minutes, a plain pin only where an admin chose that, and the attendance
statement says which evidence each day had."""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import select

from bot.models import AttendanceRecord, Enrolment, Person, Role
from tests import factories
from tests.conftest import local
from tests.test_attendance_handlers import MONDAY, code, setup

KISTA = (59.4032, 17.9448)  # the centre's public coordinates
PIN_REFUSED = ("A location pin can be sent from anywhere, so it does not show that you are "
               "here. Please type the code shown at the job centre, or share your live "
               "location: tap 📎, then Location, then Share My Live Location.")


def record(harness, name, day=MONDAY):  # type: ignore[no-untyped-def]
    with harness.db() as db:
        return db.scalar(select(AttendanceRecord)
                         .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
                         .join(Person, Person.id == Enrolment.aspirant_id)
                         .where(Person.display_name == name, AttendanceRecord.day == day))


async def test_the_centres_coordinates_sent_as_a_pin_from_home_check_nobody_in(harness):
    centre_id, _, (amina,) = await setup(harness, "Amina", location_rule="alternative")
    harness.clock.set(local(2026, 3, 2, 9, 0))
    await amina.send("/checkin")
    (reply,) = await amina.share_location(*KISTA)  # a pin: typed or picked on the map
    assert reply["text"] == PIN_REFUSED
    # A live location shared for a minute only, or forwarded from someone else: no more.
    (reply,) = await amina.share_location(*KISTA, live_period=60)
    assert reply["text"] == PIN_REFUSED
    harness.emulator.user_sends(amina.id, location={"latitude": KISTA[0],
                                                    "longitude": KISTA[1],
                                                    "live_period": 900},
                                forward_origin={"type": "hidden_user", "date": 1,
                                                "sender_user_name": "Someone"})
    await harness.process(harness.emulator._updates[-1])
    assert amina.last_text == PIN_REFUSED
    assert record(harness, "Amina") is None
    # The check-in is still open: the code works.
    (reply,) = await amina.send(code(harness, centre_id))
    assert reply["text"].startswith("✅ You are checked in for today")
    assert record(harness, "Amina").evidence == "code"


async def test_a_live_location_checks_in_and_its_moves_are_not_new_check_ins(harness):
    _, _, (amina,) = await setup(harness, "Amina", location_rule="alternative")
    harness.clock.set(local(2026, 3, 2, 9, 0))
    (reply,) = await amina.share_location(*KISTA, live_period=900)
    assert reply["text"].startswith("✅ You are checked in for today")
    assert record(harness, "Amina").evidence == "live_location"
    # The live location moves: Telegram sends edits of that message, which say nothing new.
    shared = amina.harness.emulator.messages[amina.id][-2]
    update = harness.emulator.user_edits(amina.id, shared["message_id"],
                                         location={"latitude": KISTA[0] + 0.0001,
                                                   "longitude": KISTA[1], "live_period": 900})
    await harness.process(update)
    assert amina.new_messages() == []


async def test_a_pin_counts_only_where_an_admin_chose_it(harness):
    centre_id, coach, (amina,) = await setup(harness, "Amina", location_rule="alternative")
    admin_phone = harness.phone("Admin", "en")
    with harness.db() as db:
        centre = db.get(factories.JobCentre, centre_id)
        factories.staff(db, harness.clock.now(), Role.ADMIN, None, name="Admin", language="en",
                        telegram_user_id=admin_phone.id)
    await admin_phone.send("/admin")
    await admin_phone.press("Attendance policies")
    await admin_phone.press(centre.name)
    assert "Shared locations: only a live location counts" in admin_phone.last_text
    await admin_phone.press("Location pins: count them")
    assert admin_phone.last_text.startswith("New value: a plain location pin counts too")
    await admin_phone.press("Save")

    harness.clock.set(local(2026, 3, 2, 9, 0))
    (prompt,) = await amina.send("/checkin")
    assert "share your location with the button below" in prompt["text"]
    (reply,) = await amina.share_location(*KISTA)
    assert reply["text"].startswith("✅ You are checked in for today")
    assert record(harness, "Amina").evidence == "location_pin"

    # The statement says what showed each day's presence.
    harness.clock.set(local(2026, 3, 3, 9, 0))
    await amina.share_location(*KISTA, live_period=3600)
    harness.clock.set(local(2026, 3, 4, 9, 0))
    await amina.send("/checkin")
    await amina.send(code(harness, centre_id))
    harness.clock.set(local(2026, 3, 5, 12, 0))
    await coach.send("/caseload")
    await coach.press("Amina")
    await coach.press("Attendance statement")
    await coach.press("This month")
    text = next(t for t in coach.texts if t.startswith("Attendance statement:"))
    assert "Present, by what showed it:" in text
    for line in ("• code shown at the job centre: 1", "• live location: 1",
                 "• location pin (allowed by the job centre): 1"):
        assert line in text
    document = coach.bot_messages[-1]["document"]
    rows = list(csv.reader(io.StringIO(
        harness.emulator.files[document["file_id"]][1].decode("utf-8-sig"))))
    assert rows[0][-1] == "Evidence"
    evidence = {row[2]: row[-1] for row in rows[1:]}
    assert evidence[date(2026, 3, 2).isoformat()] == "location pin (allowed by the job centre)"
    assert evidence[date(2026, 3, 3).isoformat()] == "live location"
    assert evidence[date(2026, 3, 4).isoformat()] == "code shown at the job centre"
