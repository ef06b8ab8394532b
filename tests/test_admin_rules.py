"""Admins list, create, change, switch off and preview reminder rules in chat: every step
validated (bad input changes nothing), a preview in each language that matches what the
dispatcher sends, saved only on Save, audited, and only within the admin's own scope."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import func, select

from bot.i18n import LANGUAGES
from bot.models import Audience, AuditEntry, EventKind, OutboxMessage, ReminderRule, Role
from bot.services.centres import closed_days
from bot.services.people import people
from bot.services.reminders import preview as rule_preview
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders.rules import RuleSpec
from tests import factories
from tests.conftest import local
from tests.reminder_support import book, cast, session_at

REFUSED = "Sorry, this is not available to you."
SV_TEXT = "Hej! Informationsmöte {date} kl. {time}, {place}."
AR_TEXT = "تذكير: جلسة المعلومات يوم {date} الساعة {time}."


def _last(phone):
    # Babel puts a narrow no-break space before AM/PM; mixed directions come isolated.
    return (phone.last_text.replace("\u202f", " ").replace("\u2068", "")
            .replace("\u2069", ""))


def _audit(harness, action):
    with harness.db() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _rules(harness, centre_id):
    with harness.db() as db:
        rules = list(db.scalars(select(ReminderRule).where(
            ReminderRule.job_centre_id.is_(None) if centre_id is None
            else ReminderRule.job_centre_id == centre_id).order_by(ReminderRule.id)))
        for rule in rules:
            db.expunge(rule)
        return rules


def _person_id(harness, phone):
    with harness.db() as db:
        return people.by_telegram_id(db, phone.id).id


def _general_admin(harness):
    now = harness.clock.now()
    phone = harness.phone("Sara", "en")
    with harness.db() as db:
        factories.staff(db, now, Role.ADMIN, None, name="Sara", language="en",
                        telegram_user_id=phone.id)
        kista = factories.centre(db, now)
        reminder_rules.install_defaults(db, now)
        return phone, kista.id


def _general_rule(harness, kind, audience, days=0, minutes=0):
    with harness.db() as db:
        return db.scalar(select(ReminderRule.id).where(
            ReminderRule.job_centre_id.is_(None), ReminderRule.event_kind == kind,
            ReminderRule.audience == audience, ReminderRule.offset_days == days,
            ReminderRule.offset_minutes == minutes))


def _sections(preview):
    """{heading: text} of the language parts of a preview."""
    sections = {}
    for block in preview.split("\n\n"):
        heading, _, text = block.partition("\n")
        if text and heading.endswith(":"):
            # Right-to-left language names come wrapped in direction isolates.
            sections[heading.replace("\u2068", "").replace("\u2069", "")] = text
    return sections


async def test_a_centre_rule_is_built_step_by_step_and_previewed_as_it_will_be_sent(harness):
    speakers = [("Sven", "sv"), ("Emma", "en"), ("Amina", "ar"), ("Hodan", "so"),
                ("Dariush", "fa"), ("Senait", "ti")]
    c = cast(harness, *speakers)
    admin = c.admin  # an admin of this centre only
    centre_id = c.world.centre.id
    await admin.send("/admin")
    await admin.press("Reminder rules")
    assert admin.buttons() == ["General rules", "Jobbtorg Kista", "Back"]
    await admin.press("Jobbtorg Kista")
    assert "• information session: the general rules" in admin.last_text
    await admin.press("New rule")
    assert admin.last_text == "New reminder rule (Jobbtorg Kista). For which event?"
    await admin.press("Information session")
    assert admin.last_text.startswith("When should the reminder go out?")

    for bad, problem in (
        ("tomorrow", "Not an offset: tomorrow. Write for example -1d, -2h, -30m or +1wd."),
        ("-1d 25:00", "Not a time of day: 25:00. Write it like 20:00."),
        ("-200d", "The offset must be at most 120 days before or after."),
        ("+2h", None),  # valid: only the audience comes next
    ):
        await admin.send(bad)
        if problem is None:
            break
        assert admin.last_text.startswith(problem + "\n\nWhen should the reminder go out?"), bad
    assert admin.last_text == "Who gets this reminder?"
    # Changed her mind: back to the timing from the preview later; first the audience.
    await admin.press("Aspirant")
    assert "No texts of its own: the built-in text is used." in admin.last_text
    await admin.press("Svenska")
    assert admin.last_text == (
        "Send the reminder text in Svenska. You can use these placeholders: {centre}, {date}, "
        "{name}, {place}, {time}.\nSend - to remove the text of this language.")
    await admin.send("Hej {namn}")
    assert admin.last_text.startswith(
        "The text in sv uses an unknown placeholder: {namn}. Allowed: {centre}, {date}, "
        "{name}, {place}, {time}.")
    await admin.send(SV_TEXT)
    assert admin.last_text.startswith("Texts of its own: Svenska")
    await admin.press("العربية")
    await admin.send(AR_TEXT)
    assert _last(admin).startswith("Texts of its own: Svenska, العربية")
    await admin.press("Preview and save")
    preview = _last(admin)
    assert preview.startswith("Applies to: Jobbtorg Kista\nEvent: information session\n"
                              "When: 2 hours after (+2h)\nTo: aspirant")
    await admin.press("Timing")
    await admin.send("-3h")
    preview = _last(admin)
    assert "When: 3 hours before (-3h)" in preview
    # 06:30 is in the night's quiet hours, and the preview says so.
    assert ("Preview for a sample information session on Monday, 9 March 2026 09:30; "
            "the reminder is sent Monday, 9 March 2026 06:30.") in preview
    assert "That moment is in the quiet hours" in preview
    sections = _sections(admin.last_text)
    assert set(sections) == {
        "Svenska:", "العربية:",
        "English (no text in this language; the Svenska text is used):",
        "Soomaali (no text in this language; the Svenska text is used):",
        "فارسی (no text in this language; the Svenska text is used):",
        "ትግርኛ (no text in this language; the Svenska text is used):",
    }
    assert admin.last_text.endswith("Save this rule?")
    assert _rules(harness, centre_id) == []  # nothing saved before Save

    await admin.press("Save")
    assert admin.last_text == "Saved."
    [rule] = _rules(harness, centre_id)
    assert (rule.event_kind, rule.audience, rule.offset_days, rule.offset_minutes) == (
        EventKind.INFO_SESSION, Audience.ASPIRANT, 0, -180)
    assert rule.texts == {"sv": SV_TEXT, "ar": AR_TEXT} and rule.enabled
    [entry] = [e for e in _audit(harness, "rule.create") if e.subject_id == rule.id]
    assert entry.actor_id == c.world.admin.id

    # The same rule, sent by the dispatcher for a real session at the sample's time: every
    # aspirant gets exactly the text the preview showed for their language.
    with harness.db() as db:
        session = session_at(db, harness.clock.now(), c.world, local(2026, 3, 9, 9, 30))
        for name, _ in speakers:
            book(db, harness.clock.now(), db.get(type(c.world.admin), c.ids[name]), session)
    harness.clock.set(local(2026, 3, 9, 8, 0))  # moved out of the quiet hours
    await harness.dispatch()
    by_language = {code: text for heading, text in sections.items()
                   for code, name in LANGUAGES.items() if heading.startswith(name)}
    for name, language in speakers:
        assert by_language[language] in c.aspirants[name].texts, (name, language)
    # English readers get the Swedish words, with dates in their own language.
    assert by_language["en"].startswith("Hej! Informationsmöte Monday, 9 March 2026 kl. 09:30")


async def test_edit_timing_audience_texts_and_switch_a_general_rule_off_and_on(harness):
    phone, _ = _general_admin(harness)
    rule_id = _general_rule(harness, EventKind.INFO_SESSION, Audience.ASPIRANT, days=-1)
    await phone.send("/admin")
    await phone.press("Reminder rules")
    await phone.press("General rules")
    await phone.press(data=f"ar:r:{rule_id}")
    assert _last(phone) == (
        f"Reminder rule {rule_id}\nApplies to: general\nEvent: information session\n"
        "When: 1 day before, at the same time (-1d)\nTo: aspirant\n"
        "No texts of its own: the built-in text is used.")

    await phone.press("Timing")
    await phone.send("-1x")
    assert phone.last_text.startswith("Not an offset: -1x.")
    await phone.send("-2d 18:00")
    assert "When: 2 days before, at 18:00 (-2d 18:00)" in _last(phone)
    await phone.press("Save")
    await phone.press("Back")
    await phone.press("Audience")
    assert phone.buttons() == ["Aspirant", "Coach", "Team lead", "Cancel"]
    await phone.press("Coach")
    assert "To: coach" in phone.last_text
    await phone.press("Save")
    await phone.press("Back")
    await phone.press("Texts")
    await phone.press("English")
    await phone.send("{name} comes to the session on {date}, {time}.")
    await phone.press("Preview and save")
    sections = _sections(_last(phone))
    assert sections["English:"] == "Amina comes to the session on Monday, 9 March 2026, 09:30."
    assert sections["Svenska (built-in text):"]
    await phone.press("Save")

    with harness.db() as db:
        rule = db.get(ReminderRule, rule_id)
        assert (rule.offset_days, rule.at_local_time, rule.audience) == (
            -2, time(18, 0), Audience.COACH)
        assert rule.texts == {"en": "{name} comes to the session on {date}, {time}."}
    updates = _audit(harness, "rule.update")
    assert [e.details["fields"] for e in updates] == [
        ["at_local_time", "offset_days", "offset_minutes", "working_days"], ["audience"],
        ["texts"]]
    assert {e.actor_id for e in updates} == {_person_id(harness, phone)}

    # Removing the own text brings the built-in text back.
    await phone.press("Back")
    await phone.press("Texts")
    await phone.press("✓ English")
    assert "Current text:\n{name} comes to the session" in phone.last_text
    await phone.send("-")
    await phone.press("Preview and save")
    await phone.press("Save")
    with harness.db() as db:
        assert db.get(ReminderRule, rule_id).texts == {}

    await phone.press("Back")
    await phone.press("Switch off")
    assert phone.last_text == "Switch this rule off? Reminders planned from it are cancelled."
    await phone.press("Save")
    await phone.press("Back")
    assert phone.last_text.endswith("Switched off.")
    await phone.press("Switch on")
    await phone.press("Save")
    with harness.db() as db:
        assert db.get(ReminderRule, rule_id).enabled
    assert len(_audit(harness, "rule.disable")) == len(_audit(harness, "rule.enable")) == 1


async def test_preview_of_a_built_in_rule_in_each_language(harness):
    phone, _ = _general_admin(harness)
    rule_id = _general_rule(harness, EventKind.FIRST_PLAN, Audience.ASPIRANT, days=-2)
    await phone.send("/admin")
    await phone.press("Reminder rules")
    await phone.press("General rules")
    await phone.press(data=f"ar:r:{rule_id}")
    assert "When: 2 working days before, at 09:00 (-2wd 09:00)" in _last(phone)
    await phone.press("Preview")
    text = _last(phone)
    assert text.startswith("Preview for a sample first job plan on Monday, 9 March 2026; "
                           "the reminder is sent Thursday, 5 March 2026 09:00.")
    sections = _sections(phone.last_text)
    assert list(sections) == [f"{name} (built-in text):" for name in LANGUAGES.values()]
    assert sections["English (built-in text):"] == (
        "Reminder: your first job plan is due on Monday, 9 March 2026. Your coach will help "
        "you with it.")
    assert all(sections.values())
    assert phone.buttons() == ["Back"]


async def test_a_rule_like_an_existing_one_is_refused_and_the_draft_kept(harness):
    phone, _ = _general_admin(harness)
    before = len(_rules(harness, None))
    await phone.send("/admin")
    await phone.press("Reminder rules")
    await phone.press("General rules")
    await phone.press("New rule")
    await phone.press("Daily check-in")
    await phone.send("-1d")
    assert phone.last_text.startswith("A check-in reminder is sent on the day of the check-in.")
    await phone.send("-15m")
    assert phone.buttons() == ["Aspirant", "Cancel"]  # check-in reminders go to aspirants
    await phone.press("Aspirant")
    await phone.press("Preview and save")
    await phone.press("Save")
    existing = _general_rule(harness, EventKind.CHECK_IN, Audience.ASPIRANT, minutes=-15)
    assert phone.last_text == f"There is already a rule like this (rule {existing})."
    assert len(_rules(harness, None)) == before
    await phone.press("Timing")
    await phone.send("-45m")
    await phone.press("Save")
    assert phone.last_text == "Saved."
    assert len(_rules(harness, None)) == before + 1
    assert len(_audit(harness, "rule.create")) == before + 1  # the defaults, and this one


async def test_a_centre_admin_reads_general_rules_and_changes_only_their_centres(harness):
    now = harness.clock.now()
    phone = harness.phone("Maria", "en")
    with harness.db() as db:
        kista = factories.centre(db, now)
        farsta = factories.centre(db, now, name="Jobbtorg Farsta")
        factories.staff(db, now, Role.ADMIN, kista, name="Maria", language="en",
                        telegram_user_id=phone.id)
        reminder_rules.install_defaults(db, now)
        farsta_rule = reminder_rules.create(
            db, now, RuleSpec(EventKind.INFO_SESSION, Audience.ASPIRANT, offset_days=-2),
            job_centre=farsta).id
        kista_rule = reminder_rules.create(
            db, now, RuleSpec(EventKind.INFO_SESSION, Audience.ASPIRANT, offset_days=-2),
            job_centre=kista).id
        farsta_id, kista_id = farsta.id, kista.id
    general_rule = _general_rule(harness, EventKind.INFO_SESSION, Audience.ASPIRANT, days=-1)
    audited = len(_audit(harness, "rule.create"))

    await phone.send("/admin")
    await phone.press("Reminder rules")
    assert phone.buttons() == ["General rules", "Jobbtorg Kista", "Back"]
    await phone.press("General rules")
    assert "New rule" not in phone.buttons()
    await phone.press(data=f"ar:r:{general_rule}")
    assert phone.buttons() == ["Preview", "Back"]  # read only
    message_id = phone.bot_messages[-1]["message_id"]
    for forged in (f"ar:s:{farsta_id}", f"ar:r:{farsta_rule}", f"ar:p:{farsta_rule}",
                   f"ar:e:o:{farsta_rule}", f"ar:e:t:{farsta_rule}", f"ar:x:{farsta_rule}",
                   f"ar:n:{farsta_id}", "ar:n:0", f"ar:e:a:{general_rule}",
                   f"ar:x:{general_rule}"):
        await phone.press_data(message_id, forged)
        assert harness.emulator.callback_answers[-1]["text"] == REFUSED, forged

    # Their own centre's rule they may change - until they lose the role, before Save.
    await phone.press_data(message_id, f"ar:r:{kista_rule}")
    await phone.press("Timing")
    await phone.send("-3d")
    with harness.db() as db:
        people.revoke_role(db, now, people.by_telegram_id(db, phone.id), Role.ADMIN, kista_id,
                           actor=None)
    await phone.press("Save")
    assert harness.emulator.callback_answers[-1]["text"] == REFUSED
    with harness.db() as db:
        assert db.get(ReminderRule, kista_rule).offset_days == -2
        assert db.get(ReminderRule, farsta_rule).enabled
        assert db.get(ReminderRule, general_rule).audience == Audience.ASPIRANT
    assert len(_audit(harness, "rule.create")) == audited
    assert _audit(harness, "rule.update") == _audit(harness, "rule.disable") == []


async def test_non_admins_are_refused(harness):
    now = harness.clock.now()
    phone = harness.phone("Karin", "en")
    with harness.db() as db:
        centre = factories.centre(db, now)
        factories.staff(db, now, Role.COACH, centre, language="en", telegram_user_id=phone.id)
        reminder_rules.install_defaults(db, now)
    rule_id = _general_rule(harness, EventKind.INFO_SESSION, Audience.ASPIRANT, days=-1)
    await phone.send("/admin")
    message_id = phone.bot_messages[-1]["message_id"]
    for forged in ("ar:l", "ar:s:0", f"ar:r:{rule_id}", "ar:n:0", f"ar:e:o:{rule_id}",
                   f"ar:x:{rule_id}", "ar:ok"):
        await phone.press_data(message_id, forged)
        assert harness.emulator.callback_answers[-1]["text"] == REFUSED, forged
    with harness.db() as db:
        assert db.get(ReminderRule, rule_id).enabled


async def test_information_sessions_open_from_the_admin_menu(harness):
    phone, _ = _general_admin(harness)
    await phone.send("/admin")
    await phone.press("Information sessions")
    assert phone.last_text == "There are no information sessions in the coming weeks."


def test_the_sample_event_is_a_working_day_and_nothing_is_stored(db, clock):
    now = clock.now()
    general = RuleSpec(EventKind.FIRST_PLAN, Audience.COACH, offset_days=1, working_days=True)
    nowhere = rule_preview.sample(db, now, general, None, "Europe/Stockholm")
    assert nowhere.event_day == date(2026, 3, 9)  # a week ahead, a Monday
    assert nowhere.due_at == local(2026, 3, 10, 9, 0)  # the next working day, at 09:00
    assert nowhere.message.params["centre"] == "—"

    centre = factories.centre(db, now)
    closed_days.add(db, now, centre, date(2026, 3, 9), actor=None)
    session = RuleSpec(EventKind.INFO_SESSION, Audience.ASPIRANT, offset_minutes=-120,
                       texts={"so": "Xasuusin {date}"})
    sample = rule_preview.sample(db, now, session, centre.id, "Europe/Stockholm")
    assert (sample.event_day, sample.event_time) == (date(2026, 3, 10), time(9, 30))
    assert sample.due_at == local(2026, 3, 10, 7, 30) and sample.in_quiet_hours
    assert sample.message.params["_texts"] == {"so": "Xasuusin {date}"}
    assert sample.message.params["place"] == centre.address
    db.flush()
    assert not db.new and db.scalar(select(func.count(OutboxMessage.id))) == 0
