"""Admins set a job centre's attendance policy, quiet hours and deadline counting in chat:
validated (bad input changes nothing), confirmed, audited, and only at their own centres."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select

from bot.models import AttendancePolicy, AuditEntry, LocationRule, Role
from bot.services.attendance import policy as attendance_policy
from bot.services.people import people
from bot.services.reminders import settings as reminder_settings
from tests import factories


def _setup(harness, *, everywhere=True, **centre_options):
    now = harness.clock.now()
    phone = harness.phone("Sara", "en")
    with harness.db() as db:
        centre = factories.centre(db, now, **centre_options)
        factories.staff(db, now, Role.ADMIN, None if everywhere else centre, name="Sara",
                        language="en", telegram_user_id=phone.id)
        return phone, centre.id


def _last(phone):
    # Babel puts a narrow no-break space before AM/PM.
    return phone.last_text.replace("\u202f", " ")


def _policy(harness, centre_id):
    with harness.db() as db:
        policy = db.scalar(select(AttendancePolicy)
                           .where(AttendancePolicy.job_centre_id == centre_id))
        db.expunge(policy)
        return policy


def _audit(harness, action):
    with harness.db() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)
                               .order_by(AuditEntry.id)))


def _actor_id(harness, phone):
    with harness.db() as db:
        return people.by_telegram_id(db, phone.id).id


async def _open_policy(phone, harness, centre_id):
    await phone.send("/admin")
    await phone.press("Attendance policies")
    await phone.press(data=f"ap:c:{centre_id}")


async def _change(phone, button, *answers):
    """Press a value's button, send each answer in turn; returns the last reply."""
    await phone.press(button)
    for answer in answers:
        await phone.send(answer)
    return _last(phone)


async def test_each_policy_value_is_validated_confirmed_and_audited(harness):
    phone, centre_id = _setup(harness)
    await _open_policy(phone, harness, centre_id)
    view = _last(phone)
    assert view.startswith("Jobbtorg Kista: attendance policy")
    assert "Check-in window: 08:30–10:00" in view
    before = _policy(harness, centre_id)

    cases = [
        # button, bad answer, its message, good answer, the preview
        ("Check-in window", "10:00-09:00", "The check-in window must end after it starts.",
         "08:00-09:30", "08:00–09:30"),
        ("Days", "1289", "Weekdays are digits 1 (Monday) to 7 (Sunday), e.g. 12345.",
         "1 2 3 4", "Monday, Tuesday, Wednesday, Thursday"),
        ("Grace period", "300", "Send a whole number from 0 to 240.", "20", "20 minutes"),
        ("Absences in a row", "many", "Send a whole number from 0 to 30.", "0", "never"),
        ("Absences within days", "3", "Send two numbers, e.g. 3 10",
         "4 15", "4 unexcused absences within 15 attendance days"),
        ("Alert sent again", "2", "Send a whole number from 5 to 1,440.", "90", "90 minutes"),
        ("Digest time", "25:00", "Not a time of day: 25:00. Write it like 20:00.",
         "-", "no digest"),
        ("Radius", "5", "Send a whole number from 20 to 5,000.", "350", "350 m"),
        ("Code rotation", "1", "Send a whole number from 15 to 3,600.", "30",
         "every 30 seconds"),
        ("Wait for the answer", "300", "Send a whole number from 0 to 240.", "0",
         "0 minutes"),
        ("Absence reasons", "ill flu", "Unknown absence reason: flu.", "job_interview ill",
         "Ill, Job interview, Other reason"),
    ]
    for button, bad, problem, good, preview in cases:
        reply = await _change(phone, button, bad)
        assert reply.startswith(problem), (button, reply)
        assert _policy(harness, centre_id).updated_at == before.updated_at  # nothing changed
        await phone.send(good)
        assert _last(phone) == f"New value: {preview}\nSave this change?", button
        await phone.press("Save")
        assert _last(phone) == "Saved."
        await phone.press("Back")

    policy = _policy(harness, centre_id)
    assert (policy.window_start, policy.window_end) == (time(8, 0), time(9, 30))
    assert policy.weekdays == "1234"
    assert (policy.grace_minutes, policy.streak_limit) == (20, 0)
    assert (policy.window_limit, policy.window_days) == (4, 15)
    assert (policy.alert_resend_minutes, policy.digest_time) == (90, None)
    assert (policy.radius_m, policy.code_step_seconds) == (350, 30)
    assert policy.alert_delay_minutes == 0
    assert policy.absence_reasons == "ill,job_interview,other"
    entries = _audit(harness, "attendance.policy")
    assert len(entries) == len(cases)
    assert {e.actor_id for e in entries} == {_actor_id(harness, phone)}
    assert entries[0].details["changed"] == ["window_end", "window_start"]
    assert "Check-in window: 08:00–09:30" in _last(phone)


async def test_location_rule_is_chosen_with_buttons(harness):
    phone, centre_id = _setup(harness)
    await _open_policy(phone, harness, centre_id)
    assert "Location check: off" in _last(phone)
    await phone.press("Location instead of code")
    assert _last(phone) == ("New value: a shared location may replace the code\n"
                               "Save this change?")
    await phone.press("Cancel")
    assert _last(phone) == "Cancelled. Nothing has changed."
    assert _policy(harness, centre_id).location_rule == LocationRule.OFF
    await _open_policy(phone, harness, centre_id)
    await phone.press("Code and location")
    await phone.press("Save")
    assert _policy(harness, centre_id).location_rule == LocationRule.REQUIRED
    [entry] = _audit(harness, "attendance.policy")
    assert entry.details["changed"] == ["location_rule"]


async def test_location_check_needs_the_centres_coordinates(harness):
    phone, centre_id = _setup(harness, latitude=None, longitude=None)
    await _open_policy(phone, harness, centre_id)
    await phone.press("Code and location")
    assert harness.emulator.callback_answers[-1]["text"] == (
        "The job centre has no coordinates, so locations cannot be checked.")
    assert _policy(harness, centre_id).location_rule == LocationRule.OFF
    assert _audit(harness, "attendance.policy") == []


async def test_quiet_hours_weekends_and_deadline_counting(harness):
    phone, centre_id = _setup(harness)
    await phone.send("/admin")
    await phone.press("Quiet hours and deadlines")
    await phone.press(data=f"ap:q:{centre_id}")
    assert _last(phone) == ("Jobbtorg Kista: quiet hours and deadlines\n"
                               "Quiet hours: 20:00–08:00\n"
                               "Quiet weekends: off\n"
                               "Plan deadlines are counted in working days.")
    await phone.press("Quiet hours")
    for bad, problem in (("21:00", "Send a start and an end time, like 20:00-08:00."),
                         ("21:00-31:00", "Not a time of day: 31:00."),
                         ("22:00-22:00", "Quiet hours must start and end at different times")):
        await phone.send(bad)
        assert _last(phone).startswith(problem), bad
    with harness.db() as db:
        assert reminder_settings.for_centre(db, centre_id) == reminder_settings.DEFAULTS
    await phone.send("21:30-07:00")
    assert _last(phone) == "New value: 21:30–07:00\nSave this change?"
    await phone.press("Save")
    await phone.press("Back")
    await phone.press("Weekends: quiet")
    assert _last(phone) == "New value: on\nSave this change?"
    await phone.press("Save")
    await phone.press("Back")
    await phone.press("Count calendar days")
    assert _last(phone) == "New value: calendar days\nSave this change?"
    await phone.press("Save")
    await phone.press("Back")
    assert _last(phone) == ("Jobbtorg Kista: quiet hours and deadlines\n"
                               "Quiet hours: 21:30–07:00\n"
                               "Quiet weekends: on\n"
                               "Plan deadlines are counted in calendar days.")
    with harness.db() as db:
        settings = reminder_settings.for_centre(db, centre_id)
    assert settings.quiet == reminder_settings.QuietHours(time(21, 30), time(7, 0), True)
    assert settings.deadline_calendar_days is True
    entries = _audit(harness, "reminder_settings.update")
    assert len(entries) == 3
    assert {e.actor_id for e in entries} == {_actor_id(harness, phone)}

    await phone.press("Quiet hours")
    await phone.send("-")
    assert _last(phone) == "New value: no quiet hours\nSave this change?"
    await phone.press("Save")
    with harness.db() as db:
        quiet = reminder_settings.for_centre(db, centre_id).quiet
    assert quiet.start == quiet.end  # no quiet hours


async def test_a_centre_admin_only_reaches_their_own_centre(harness):
    now = harness.clock.now()
    phone, kista_id = _setup(harness, everywhere=False)
    with harness.db() as db:
        farsta_id = factories.centre(db, now, name="Jobbtorg Farsta").id
        attendance_policy.policy_for(db, now, farsta_id)
    await phone.send("/admin")
    await phone.press("Attendance policies")
    assert phone.buttons() == ["Jobbtorg Kista", "Back"]
    message_id = phone.bot_messages[-1]["message_id"]
    for forged in (f"ap:c:{farsta_id}", f"ap:q:{farsta_id}", f"ad:e:apwin:{farsta_id}",
                   f"ad:e:qhrs:{farsta_id}", f"ap:s:aploc:{farsta_id}:req",
                   f"ap:s:qwk:{farsta_id}:1"):
        await phone.press_data(message_id, forged)
        assert harness.emulator.callback_answers[-1]["text"] == (
            "Sorry, this is not available to you."), forged
    assert _policy(harness, farsta_id).location_rule == LocationRule.OFF
    with harness.db() as db:
        assert reminder_settings.for_centre(db, farsta_id) == reminder_settings.DEFAULTS

    # Their own centre works; losing the role before Save refuses the save.
    await phone.press_data(message_id, f"ap:c:{kista_id}")
    await phone.press("Grace period")
    await phone.send("30")
    with harness.db() as db:
        admin = people.by_telegram_id(db, phone.id)
        people.revoke_role(db, now, admin, Role.ADMIN, kista_id, actor=None)
    await phone.press("Save")
    assert harness.emulator.callback_answers[-1]["text"] == "Sorry, this is not available to you."
    assert _policy(harness, kista_id).grace_minutes == 15
    assert _audit(harness, "attendance.policy") == []


async def test_non_admins_are_refused(harness):
    now = harness.clock.now()
    phone = harness.phone("Karin", "en")
    with harness.db() as db:
        centre = factories.centre(db, now)
        factories.staff(db, now, Role.COACH, centre, language="en",
                        telegram_user_id=phone.id)
        centre_id = centre.id
    await phone.send("/admin")
    message_id = phone.bot_messages[-1]["message_id"]
    for forged in (f"ap:c:{centre_id}", f"ap:s:qwk:{centre_id}:1", f"ad:e:qhrs:{centre_id}"):
        await phone.press_data(message_id, forged)
        assert harness.emulator.callback_answers[-1]["text"] == (
            "Sorry, this is not available to you.")
    with harness.db() as db:
        assert reminder_settings.for_centre(db, centre_id) == reminder_settings.DEFAULTS


async def test_numbers_in_other_scripts_are_read_and_superscripts_refused(harness, caplog):
    """An admin may type with an Arabic keyboard; "²" passes isdigit() but is no number."""
    phone, centre_id = _setup(harness)
    await _open_policy(phone, harness, centre_id)
    assert await _change(phone, "Grace period", "²") == (
        "Send a whole number from 0 to 240.\n\n" + "Send the grace period in minutes (0–240): "
        "check-ins are still taken this long after the window closes.")
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    await phone.send("٢٠")  # Arabic-Indic 20
    assert _last(phone) == "New value: 20 minutes\nSave this change?"
    await phone.press("Save")
    assert _policy(harness, centre_id).grace_minutes == 20
