"""What a newcomer meets in chat: free text typed inside any flow is answered with where
the person is and the buttons to press; /help, the command menu and the reply keyboard
show exactly what the person's roles allow; words like "cancel" work in every language."""

from __future__ import annotations

import pytest
from telegram.ext import CommandHandler

from bot.i18n import LRI, PDI, translator
from bot.models import Role
from bot.presentation.keyboards import ROLE_COMMANDS, commands_for
from tests import factories
from tests.attendance_support import centre_with_staff, enrol
from tests.conftest import local


def tr(language: str, text: str, **params: object) -> str:
    return translator(language)._(text, **params)


async def _invite_code(harness, *, with_session=True) -> str:
    now = harness.clock.now()
    with harness.db() as db:
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, Role.COACH, centre, name="Karin")
        session = (factories.session(db, now, centre, local(2026, 3, 4, 9, 30))
                   if with_session else None)
        return factories.aspirant_invite(db, now, centre, coach, session).code


# --- the first contact ------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["ar", "en", "ti"])
async def test_text_at_the_language_step_asks_for_the_language_again(harness, language):
    code = await _invite_code(harness)
    phone = harness.phone("Amina", language)
    await phone.send(f"/start {code}")
    replies = await phone.send("hello")
    [reply] = replies
    assert reply["text"] == tr(language, "Welcome! Please choose your language with the "
                                         "buttons below.")
    assert "لا أعرفك" not in reply["text"]
    # The buttons are right there, and they work.
    assert "English" in [b.removeprefix("✓ ") for b in phone.buttons(reply)]
    await phone.press("English", message=reply)
    assert phone.buttons() == ["I agree", "No, thanks"]


async def test_text_at_the_consent_step_points_to_the_two_buttons(harness):
    code = await _invite_code(harness)
    phone = harness.phone("Amina", "ar")
    await phone.send(f"/start {code}")
    await phone.press("العربية")
    [reply] = await phone.send("نعم")
    assert reply["text"] == tr("ar", "To register, please read the text above about your data, "
                                     "then press “I agree” or “No, thanks” below.")
    assert phone.buttons(reply) == [tr("ar", "I agree"), tr("ar", "No, thanks")]
    await phone.press(tr("ar", "I agree"), message=reply)
    assert tr("ar", "Thank you! You are now registered.") in phone.texts


async def test_text_at_the_session_step_offers_the_times_again(harness):
    code = await _invite_code(harness)
    phone = harness.phone("Amina", "en")
    await phone.send(f"/start {code}")
    await phone.press("English")
    await phone.press("I agree")
    replies = await phone.send("tomorrow?")
    assert replies[0]["text"] == ("You are registered. Please choose a time for your "
                                  "information session with the buttons below.")
    assert replies[-1]["text"] == "Choose a time for your information session:"
    await phone.press(message=replies[-1], data=replies[-1]["reply_markup"][
        "inline_keyboard"][0][0]["callback_data"])
    assert phone.last_text == "What would you like to do? Use the menu below."


async def test_a_stranger_typing_is_asked_for_the_invite_link(harness):
    phone = harness.phone("Someone", "en")
    [reply] = await phone.send("hi")
    assert reply["text"] == ("I don't know you yet. Please open the invite link you got "
                             "from your coach.")


# --- free text in the other flows ----------------------------------------------------------
async def _aspirant(harness, language="en"):
    phone = harness.phone("Amina", language)
    now = harness.clock.now()
    with harness.db() as db:
        centre, coach, _lead = centre_with_staff(db, now)
        enrol(db, now, centre, coach, "Amina", telegram_user_id=phone.id, language=language)
    return phone


async def test_text_while_reporting_an_absence_shows_the_step_again(harness):
    phone = await _aspirant(harness)
    await phone.send("/absence")
    [reply] = await phone.send("I am sick")
    assert reply["text"].startswith("You are reporting an absence: please answer with the "
                                    "buttons below, or press Cancel.")
    assert reply["text"].endswith("Why will you be absent?")
    assert "Cancel" in phone.buttons(reply)
    await phone.press(message=reply, data=reply["reply_markup"]["inline_keyboard"][0][0][
        "callback_data"])
    [reply] = await phone.send("today")
    assert reply["text"].endswith("When?") and "Today" in phone.buttons(reply)


@pytest.mark.parametrize("word", ["Cancel", "avbryt", "إلغاء", "لغو"])
async def test_cancel_typed_in_any_language_ends_the_flow(harness, word):
    phone = await _aspirant(harness)
    await phone.send("/absence")
    [reply] = await phone.send(word)
    assert reply["text"] == "Cancelled. Nothing has changed."
    # The conversation is over: the next text is no longer read as part of it.
    [reply] = await phone.send("hello")
    assert reply["text"] == "Sorry, I did not understand that. Please use the menu or /help."


async def _admin(harness, language="en"):
    phone = harness.phone("Sara", language)
    with harness.db() as db:
        factories.staff(db, harness.clock.now(), Role.ADMIN, None, name="Sara",
                        language=language, telegram_user_id=phone.id)
    return phone


async def test_text_where_an_admin_should_press_a_button_says_where_they_are(harness):
    phone = await _admin(harness)
    with harness.db() as db:
        factories.centre(db, harness.clock.now())
    await phone.send("/invite")
    [reply] = await phone.send("a coach please")
    assert reply["text"] == ("You are creating an invite link: please choose with the buttons "
                             "above, or send /invite to start again.")

    await phone.send("/admin")
    await phone.press("Settings")
    await phone.press(data=phone.find_button("Retention")[1]["callback_data"])
    await phone.send("400")
    [reply] = await phone.send("yes")
    assert reply["text"] == ("You are changing a setting: please press Save or Cancel above, "
                             "or send /admin to start again.")
    await phone.press("Save")
    assert "Saved." in phone.texts


async def test_text_in_the_sessions_flow_at_a_button_step(harness):
    phone = await _admin(harness)
    with harness.db() as db:
        factories.centre(db, harness.clock.now())
    await phone.send("/sessions")
    await phone.press("New information session")
    await phone.send("2026-03-10 09:00")
    await phone.press("Use the job centre's address")
    await phone.press("20")
    # The language is chosen with buttons: typing it is answered with where they are.
    [reply] = await phone.send("Swedish")
    assert reply["text"] == ("You are changing information sessions: please choose with the "
                             "buttons above, or press Cancel.")
    assert phone.buttons(reply) == ["Cancel"]


# --- help, the command menu and the keyboard follow the roles ------------------------------
def _help_commands(text: str) -> list[str]:
    return [line.split(" — ")[0].strip(f"{LRI}{PDI}\u200f ").lstrip("/")
            for line in text.splitlines() if " — " in line]


@pytest.mark.parametrize(("role", "has_admin", "has_invite"), [
    (Role.COACH, False, True), (Role.TEAM_LEAD, False, False), (Role.ADMIN, True, True)])
async def test_help_menu_and_keyboard_list_what_the_role_allows(harness, role, has_admin,
                                                                has_invite):
    phone = harness.phone("Karin", "en")
    with harness.db() as db:
        centre = factories.centre(db, harness.clock.now())
        factories.staff(db, harness.clock.now(), role, centre, name="Karin", language="en",
                        telegram_user_id=phone.id)
    [reply] = await phone.send("/help")
    listed = _help_commands(reply["text"])
    assert ("admin" in listed) is has_admin
    assert ("invite" in listed) is has_invite
    assert "schedule" not in listed and "checkin" not in listed
    assert harness.emulator.menu_commands(phone.id) == listed
    assert phone.reply_keyboard == []
    # Everything listed answers; nothing says it is not available.
    for command in listed:
        if command in ("stop",):
            continue
        replies = await phone.send(f"/{command}")
        assert all(m.get("text") != "Sorry, this is not available to you." for m in replies), \
            command


async def test_an_aspirant_sees_the_aspirant_menu_and_no_staff_commands(harness):
    phone = await _aspirant(harness, "ar")
    [reply] = await phone.send("/help")
    listed = _help_commands(reply["text"])
    assert listed == [name for name, _ in ROLE_COMMANDS[Role.ASPIRANT]]
    assert harness.emulator.menu_commands(phone.id) == listed
    assert len([b for row in phone.reply_keyboard for b in row]) == 8
    # In Arabic each command is isolated left to right, so "/stop" does not show as "stop/".
    assert f"{LRI} /stop{PDI}" in reply["text"]


async def test_people_the_bot_does_not_know_can_only_start(harness):
    phone = harness.phone("Someone", "so")
    assert harness.emulator.menu_commands(phone.id) == ["start"]


async def test_removing_a_role_updates_that_persons_command_menu(harness):
    admin = await _admin(harness)
    coach = harness.phone("Karin", "sv")
    with harness.db() as db:
        centre = factories.centre(db, harness.clock.now())
        factories.staff(db, harness.clock.now(), Role.COACH, centre, name="Karin",
                        telegram_user_id=coach.id)
        from bot.services.people import people
        person = people.by_telegram_id(db, coach.id)
        people.grant_role(db, harness.clock.now(), person, Role.ADMIN, job_centre_id=centre.id)
        centre_id = centre.id
    await coach.send("/help")
    assert "admin" in harness.emulator.menu_commands(coach.id)

    await admin.send("/admin")
    await admin.press("Job centres")
    await admin.press(data=f"ad:c:{centre_id}")
    await admin.press("Staff")
    await admin.press("✖ Karin (administrator)")
    await admin.press("Save")
    menu = harness.emulator.menu_commands(coach.id)
    assert "admin" not in menu and "caseload" in menu
    # Their help says the same.
    [reply] = await coach.send("/help")
    assert "admin" not in _help_commands(reply["text"])


def test_each_listed_command_is_allowed_to_its_role_and_none_is_missing(harness):
    handlers = {}
    for group in harness.app.handlers.values():
        for handler in group:
            if isinstance(handler, CommandHandler):
                for command in handler.commands:
                    handlers.setdefault(command, []).append(handler.callback)
    for role, entries in ROLE_COMMANDS.items():
        listed = {name for name, _ in entries}
        for name in listed:
            allowed = [getattr(cb, "allowed_roles", None) for cb in handlers[name]]
            assert any(a is None or role in a for a in allowed), (role, name)
        usable = {name for name, callbacks in handlers.items() if name != "start"
                  and any(getattr(cb, "allowed_roles", None) is not None
                          and role in cb.allowed_roles for cb in callbacks)}
        assert usable == listed, role
    assert commands_for([]) == ()
