"""Admins change job centres, closed days, staff and settings in chat: validated, confirmed,
audited; bad input changes nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.models import AuditEntry, ClosedDay, JobCentre, Role
from bot.services.centres import org_settings
from bot.services.people import people
from tests import factories


async def _admin(harness, centre=None, *, everywhere=True):
    phone = harness.phone("Sara", "en")
    with harness.db() as db:
        factories.staff(db, harness.clock.now(), Role.ADMIN, None if everywhere else centre,
                        name="Sara", language="en", telegram_user_id=phone.id)
    return phone


def _audit(harness, action):
    with harness.db() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_create_a_centre_and_set_its_location(harness):
    phone = await _admin(harness)
    await phone.send("/admin")
    await phone.press("Job centres")
    await phone.press("Add a job centre")
    assert phone.last_text == "Send the name of the new job centre."
    await phone.send("Jobbtorg Vårberg")
    assert phone.last_text == "New value: Jobbtorg Vårberg\nSave this change?"
    await phone.press("Save")
    assert phone.last_text == "Saved."
    with harness.db() as db:
        centre = db.scalar(select(JobCentre).where(JobCentre.name == "Jobbtorg Vårberg"))
        centre_id = centre.id
    assert len(_audit(harness, "centre.create")) == 1
    with harness.db() as db:
        from bot.services.reminders import rules as reminder_rules

        # A first centre starts with the recommended reminders.
        assert len(reminder_rules.listed(db, everything=True)) == len(
            reminder_rules.default_rules())

    await phone.press("Back")
    await phone.press(data=f"ad:c:{centre_id}")
    await phone.press("Location")
    await phone.send("north of the station")
    assert phone.last_text.startswith("Send the location as latitude, longitude")
    await phone.send("91.5, 17.9")
    assert phone.last_text.startswith("Coordinates out of range.")
    with harness.db() as db:
        assert db.get(JobCentre, centre_id).latitude is None  # nothing changed
    await phone.send("59.2765, 17.8906")
    assert phone.last_text == "New value: 59.2765, 17.8906\nSave this change?"
    await phone.press("Save")
    with harness.db() as db:
        centre = db.get(JobCentre, centre_id)
        assert (centre.latitude, centre.longitude) == (59.2765, 17.8906)
    entry = _audit(harness, "centre.location")[0]
    with harness.db() as db:
        admin = people.by_telegram_id(db, phone.id)
        assert entry.actor_id == admin.id and entry.subject_id == centre_id


async def test_duplicate_name_and_cancel_change_nothing(harness):
    phone = await _admin(harness)
    with harness.db() as db:
        kista = factories.centre(db, harness.clock.now())
        factories.centre(db, harness.clock.now(), name="Jobbtorg Farsta")
        kista_id = kista.id
    await phone.send("/admin")
    await phone.press("Job centres")
    await phone.press(data=f"ad:c:{kista_id}")
    await phone.press("Name")
    await phone.send("Jobbtorg Farsta")
    await phone.press("Save")
    assert phone.last_text == ("There is already a job centre called Jobbtorg Farsta.\n\n"
                               "Send the new name.")
    await phone.press("Cancel")
    await phone.send("/admin")
    await phone.press("Job centres")
    await phone.press(data=f"ad:c:{kista_id}")
    await phone.press("Address")
    await phone.send("Somewhere else 1")
    await phone.press("Cancel")
    assert phone.last_text == "Cancelled. Nothing has changed."
    with harness.db() as db:
        kista = db.get(JobCentre, kista_id)
        assert kista.name == "Jobbtorg Kista" and kista.address.startswith("Kistagången")


async def test_closed_days_are_added_and_removed(harness):
    phone = await _admin(harness)
    with harness.db() as db:
        centre_id = factories.centre(db, harness.clock.now()).id
    await phone.send("/admin")
    await phone.press("Job centres")
    await phone.press(data=f"ad:c:{centre_id}")
    await phone.press("Closed days")
    await phone.press("Add a closed day")
    await phone.send("next friday")
    assert phone.last_text.startswith("Write the date as YYYY-MM-DD")
    await phone.send("2026-03-13 Staff training")
    assert phone.last_text == "New value: Friday, 13 March 2026 Staff training\nSave this change?"
    await phone.press("Save")
    with harness.db() as db:
        closed = db.scalar(select(ClosedDay))
        assert closed.day == date(2026, 3, 13) and closed.note == "Staff training"
        closed_id = closed.id
    await phone.press("Back")
    await phone.press(data=f"ad:t:cdrm:{closed_id}")
    assert phone.last_text == "Remove the closed day Friday, 13 March 2026?"
    await phone.press("Save")
    with harness.db() as db:
        assert db.scalar(select(ClosedDay)) is None
    assert [e.action for e in _audit(harness, "closed_day.add")] == ["closed_day.add"]
    assert len(_audit(harness, "closed_day.remove")) == 1


async def test_settings_retention_and_gender_switch(harness):
    phone = await _admin(harness)
    await phone.send("/admin")
    await phone.press("Settings")
    assert "Personal data is kept 365 days after an aspirant has left." in phone.last_text
    await phone.press("Retention period")
    await phone.send("7")
    assert phone.last_text.startswith("The retention period must be between 30 and 3650 days.")
    await phone.send("180")
    await phone.press("Save")
    await phone.press("Back")
    assert "Personal data is kept 180 days" in phone.last_text
    await phone.press("Gender and age band")
    await phone.press("Save")
    with harness.db() as db:
        assert org_settings.get(db, org_settings.RETENTION_DAYS) == 180
        assert org_settings.get(db, org_settings.RECORD_GENDER_AND_AGE) is True


async def test_remove_a_coach_role(harness):
    phone = await _admin(harness)
    with harness.db() as db:
        centre = factories.centre(db, harness.clock.now())
        coach = factories.staff(db, harness.clock.now(), Role.COACH, centre, name="Karin")
        centre_id, coach_id = centre.id, coach.id
        grant_id = coach.roles[0].id
    await phone.send("/admin")
    await phone.press("Job centres")
    await phone.press(data=f"ad:c:{centre_id}")
    await phone.press("Staff")
    assert "• Karin — coach" in phone.last_text
    await phone.press(data=f"ad:t:rv:{grant_id}")
    assert phone.last_text == "Remove the role coach from Karin?"
    await phone.press("Save")
    with harness.db() as db:
        assert not db.get(factories.Person, coach_id).has_role(Role.COACH)


async def test_centre_admin_only_reaches_their_own_centre(harness):
    now = harness.clock.now()
    with harness.db() as db:
        kista = factories.centre(db, now)
        farsta = factories.centre(db, now, name="Jobbtorg Farsta")
        kista_id, farsta_id = kista.id, farsta.id
    phone = await _admin(harness, kista, everywhere=False)
    await phone.send("/admin")
    await phone.press("Job centres")
    assert phone.buttons() == ["Jobbtorg Kista", "Back"]
    message_id = phone.bot_messages[-1]["message_id"]
    await phone.press_data(message_id, f"ad:c:{farsta_id}")
    assert harness.emulator.callback_answers[-1]["text"] == "Sorry, this is not available to you."
    await phone.press_data(message_id, f"ad:e:cname:{farsta_id}")
    assert harness.emulator.callback_answers[-1]["text"] == "Sorry, this is not available to you."
    await phone.press_data(message_id, "ad:set")
    assert harness.emulator.callback_answers[-1]["text"] == "Sorry, this is not available to you."
    await phone.press_data(message_id, f"ad:c:{kista_id}")
    assert phone.last_text.startswith("Jobbtorg Kista")


async def test_only_admins_get_in(harness):
    coach_phone = harness.phone("Karin", "en")
    with harness.db() as db:
        centre = factories.centre(db, harness.clock.now())
        factories.staff(db, harness.clock.now(), Role.COACH, centre, language="en",
                        telegram_user_id=coach_phone.id)
    await coach_phone.send("/admin")
    assert coach_phone.last_text == "Sorry, this is not available to you."
    await coach_phone.press_data(coach_phone.bot_messages[-1]["message_id"], "ad:e:cnew:0")
    assert harness.emulator.callback_answers[-1]["text"] == "Sorry, this is not available to you."


FORGED = (
    "ad:c:99999999999999999999", "ad:c:²", "ad:cd:2147483648", "ad:st:007", "ad:e:nosuch:1",
    "ad:e:cname:²", "ad:t:drop:1", "ad:t:rv:99999999999999999999", "ad:ok:1",
    "ap:c:٣", "ap:s:aploc:1:xyz", "ap:s:nosuch:1:1", "ap:s:qwk:99999999999999999999:1",
    "ar:r:99999999999999999999", "ar:s:²", "ar:e:z:1", "ar:k:birthday", "ar:g:de",
    "sa:v:2147483648", "sa:y:²", "sa:cp:٣", "sa:lg:de",
)


async def test_forged_admin_buttons_get_the_stale_answer_and_change_nothing(harness, caplog):
    """Huge ids, digits of other scripts, unknown fields and choices: the stale-button
    answer, no traceback in the log, no reply, nothing written."""
    with harness.db() as db:
        factories.centre(db, harness.clock.now())
    phone = await _admin(harness)
    await phone.send("/admin")
    menu = phone.bot_messages[-1]
    audited = len(_audit(harness, "centre.rename"))
    for data in FORGED:
        replies = await phone.press_data(menu["message_id"], data)
        assert harness.emulator.callback_answers[-1]["text"] == (
            "This button is no longer active."), data
        assert replies == [], data
    assert phone.bot_messages[-1] == menu
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    assert len(_audit(harness, "centre.rename")) == audited
    # The real buttons still work.
    await phone.press("Job centres")
    assert phone.last_text == "Job centres:"
