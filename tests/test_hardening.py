"""Issue 15's findings, each reproduced: forged ids, non-ASCII digits, echoed input over
Telegram's limit, and a refused note that silently kept its step (points 1, 2, 3, 6; the
invite points 4 and 5 are in test_invite_holds.py, point 7 in test_presence_evidence.py)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from bot.models import AttendanceNote, JobCentre, Role
from tests import factories
from tests.attendance_support import enrol

STALE = "This button is no longer active."
HUGE = "99999999999999999999"
STILL_EXPECTED = "Your next message is taken as the answer. To stop, press Cancel."


async def _people(harness):
    now = harness.clock.now()
    phones = {name: harness.phone(name, "en") for name in ("Amina", "Karin", "Admin")}
    with harness.db() as db:
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, Role.COACH, centre, name="Karin", language="en",
                                telegram_user_id=phones["Karin"].id)
        factories.staff(db, now, Role.ADMIN, None, name="Admin", language="en",
                        telegram_user_id=phones["Admin"].id)
        _, enrolment = enrol(db, now, centre, coach, "Amina", telegram_user_id=phones["Amina"].id,
                             language="en")
        ids = {"centre": centre.id, "enrolment": enrolment.id}
    for phone in phones.values():
        await phone.send("/help")
    return phones, ids


ASPIRANT_BUTTONS = [f"aw:{HUGE}:i", f"rm:y:{HUGE}", f"rb:{HUGE}"]
STAFF_BUTTONS = [f"cl:{kind}:{HUGE}" for kind in "dknSqrm"] + [
    f"dm:v:{HUGE}", f"ex:v:{HUGE}", f"pl:a:{HUGE}", f"ak:{HUGE}", f"al:{HUGE}:e",
    f"ax:{HUGE}", "cl:d:²", "cl:p:²", "ak:²", "al:²:p", "ax:²", "dm:v:²", "ex:v:²"]
ADMIN_BUTTONS = [f"sa:v:{HUGE}", f"ad:c:{HUGE}", "ad:e:cname:²"]


@pytest.mark.parametrize(("who", "data"), [("Amina", d) for d in ASPIRANT_BUTTONS]
                         + [("Karin", d) for d in STAFF_BUTTONS]
                         + [("Admin", d) for d in ADMIN_BUTTONS])
async def test_huge_ids_and_other_digits_are_stale_buttons_without_a_traceback(
        harness, caplog, who, data):
    phones, _ = await _people(harness)
    phone = phones[who]
    caplog.set_level(logging.WARNING)
    await phone.press_data(phone.bot_messages[-1]["message_id"], data)
    assert harness.emulator.callback_answers[-1]["text"] == STALE
    assert not any("went wrong" in text for text in phone.texts)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


# --- every path that shows typed text back ---------------------------------------------------
ADMIN_FIELDS = [("cnew", 120), ("cname", 120), ("caddr", 300), ("ctz", 64), ("cloc", 100),
                ("cdadd", 211), ("ret", 100), ("apwin", 100), ("aploc", 100)]


@pytest.mark.parametrize(("field", "limit"), ADMIN_FIELDS)
async def test_an_admins_typed_value_is_checked_when_it_arrives(harness, field, limit):
    phones, ids = await _people(harness)
    admin = phones["Admin"]
    target = 0 if field in ("cnew", "ret") else ids["centre"]
    await admin.press_data(admin.bot_messages[-1]["message_id"], f"ad:e:{field}:{target}")
    (reply,) = await admin.send("x" * 4096)
    assert reply["text"].startswith(
        f"That is too long: at most {limit} characters, and yours has 4,096. Nothing was saved.")
    assert reply["text"].endswith(STILL_EXPECTED)
    # The longest value it takes is shown back within Telegram's limit (the emulated Bot
    # API refuses anything longer, and the harness fails the test on it).
    (reply,) = await admin.send("y" * limit)
    assert len(reply["text"]) <= 4096
    with harness.db() as db:
        assert db.get(JobCentre, ids["centre"]).name == "Jobbtorg Kista"


async def test_a_session_place_is_checked_when_it_arrives(harness):
    phones, ids = await _people(harness)
    admin = phones["Admin"]
    from datetime import timedelta

    with harness.db() as db:
        session = factories.session(db, harness.clock.now(), db.get(JobCentre, ids["centre"]),
                                    harness.clock.now() + timedelta(days=3))
    await admin.press_data(admin.bot_messages[-1]["message_id"], f"sa:p:{session.id}")
    (reply,) = await admin.send("Room " * 1000)
    assert reply["text"].startswith("That is too long: at most 300 characters")
    (reply,) = await admin.send("R" * 300)
    assert reply["text"].startswith("Change the place to:")


# --- point 6: a refused note -----------------------------------------------------------------
async def test_a_refused_note_says_the_next_message_is_still_taken_and_can_be_cancelled(
        harness):
    phones, ids = await _people(harness)
    coach = phones["Karin"]
    await coach.press_data(coach.bot_messages[-1]["message_id"], f"cl:n:{ids['enrolment']}")
    (reply,) = await coach.send("n" * 1500)
    assert reply["text"].startswith("That is too long: at most 1,000 characters, and yours "
                                    "has 1,500. Nothing was saved.")
    assert reply["text"].endswith(STILL_EXPECTED)
    await coach.press("Cancel")
    assert coach.last_text == "Cancelled. Nothing has changed."
    # The coach's next ordinary message is not taken as the note.
    await coach.send("thanks")
    with harness.db() as db:
        assert db.scalar(select(func.count()).select_from(AttendanceNote)) == 0

    # Or they send it again, shorter, as they were told: that is the note.
    await coach.press_data(coach.bot_messages[-1]["message_id"], f"cl:n:{ids['enrolment']}")
    await coach.send("n" * 1500)
    await coach.send("Called her: ill today, back tomorrow.")
    assert coach.last_text == "Note saved."


async def test_a_note_that_can_never_be_saved_closes_its_step(harness):
    phones, ids = await _people(harness)
    coach = phones["Karin"]
    await coach.press_data(coach.bot_messages[-1]["message_id"], f"cl:n:{ids['enrolment']}")
    # Meanwhile Amina moves to another coach's caseload.
    from bot.models import Enrolment

    with harness.db() as db:
        centre = db.get(JobCentre, ids["centre"])
        other = factories.staff(db, harness.clock.now(), Role.COACH, centre, name="Olle")
        db.get(Enrolment, ids["enrolment"]).coach_id = other.id
    (reply,) = await coach.send("Called her, no answer.")
    assert reply["text"].startswith("This aspirant is not in your caseload (any more).")
    assert reply["text"].endswith("Nothing was saved, and your next message is not taken as "
                                  "an answer.")
    (reply,) = await coach.send("hello")
    assert reply["text"].startswith("Sorry, I did not understand that.")
