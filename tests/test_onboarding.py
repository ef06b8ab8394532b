"""An aspirant's first minute, in each language, and every way it can go wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.i18n import LANGUAGES, translator
from bot.models import (
    Booking,
    BookingStatus,
    ConversationState,
    Enrolment,
    Invite,
    OutboxMessage,
    Person,
    Role,
)
from bot.services.people import people
from handlers.onboarding import CONSENT_TEXT
from tests import factories
from tests.conftest import local

CONSENT_START = "Before we start, please read this."


async def _setup(harness, *, session_start=None, capacity=20, with_session=True,
                 attendance_required=True):
    now = harness.clock.now()
    coach_phone = harness.phone("Karin", "sv")
    with harness.db() as db:
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, Role.COACH, centre, name="Karin",
                                telegram_user_id=coach_phone.id)
        session = None
        if with_session:
            session = factories.session(db, now, centre,
                                        session_start or local(2026, 3, 4, 9, 30),
                                        capacity=capacity)
        invite = factories.aspirant_invite(db, now, centre, coach, session,
                                           attendance_required=attendance_required)
        return invite.code, coach_phone, (session.id if session else None), centre.id


async def agree(phone, code):
    """Open the invite, choose English and accept the terms; returns the replies to that."""
    await phone.send(f"/start {code}")
    await phone.press("English")
    return await phone.press("I agree")


def tr(language, text, **params):
    return translator(language)._(text, **params)


@pytest.mark.parametrize("language", list(LANGUAGES))
async def test_whole_flow_in_each_language(harness, language):
    code, coach_phone, session_id, _centre = await _setup(harness)
    phone = harness.phone("Amina", language)

    replies = await phone.send(f"/start {code}")
    # The picker names each language in itself and preselects the phone's language.
    assert replies[0]["text"] == tr(language, "Welcome! Please choose your language.")
    assert f"✓ {LANGUAGES[language]}" in phone.buttons()
    assert set(LANGUAGES.values()) <= {b.removeprefix("✓ ") for b in phone.buttons()}

    replies = await phone.press(LANGUAGES[language])
    consent = replies[-1]["text"]
    assert consent == tr(language, CONSENT_TEXT)
    if language != "en":
        assert not consent.startswith(CONSENT_START), "consent text not translated"
    assert phone.buttons() == [tr(language, "I agree"), tr(language, "No, thanks")]

    replies = await phone.press(tr(language, "I agree"))
    invitation = tr(language, "You are invited to an information session at the job "
                    "centre:\n\n{summary}", summary="")
    assert replies[0]["text"].startswith(invitation.split("\n")[0])
    assert "location" in replies[-1]  # the map pin of the session's place

    replies = await phone.press(tr(language, "I'll come"))
    assert replies[-1]["text"] == tr(language, "What would you like to do? Use the menu below.")
    menu = [b["text"] for row in phone.reply_keyboard for b in row]
    assert len(menu) == 8
    assert f"📅 {tr(language, 'My schedule')}" in menu
    assert f"⛔ {tr(language, 'Stop')}" in menu
    # Commands for this chat are in the chosen language too.
    chat_commands = [c.params["commands"] for c in harness.emulator.calls
                     if c.method == "setMyCommands"
                     and c.params.get("scope", {}).get("chat_id") == phone.id]
    assert chat_commands[-1][0]["description"] == tr(language, "My schedule")

    with harness.db() as db:
        person = people.by_telegram_id(db, phone.id)
        assert person is not None and person.language == language
        assert person.consent_at is not None
        enrolment = db.scalar(select(Enrolment).where(Enrolment.aspirant_id == person.id))
        assert enrolment.attendance_required is True
        booking = db.scalar(select(Booking).where(Booking.aspirant_id == person.id))
        assert booking.info_session_id == session_id and booking.status == BookingStatus.BOOKED
        assert db.scalar(select(Invite).where(Invite.code == code)).used_at is not None
        assert db.scalar(select(func.count()).select_from(ConversationState)) == 0

    # The coach hears about it, in the coach's own language.
    await harness.dispatch()
    assert coach_phone.last_text == tr("sv", "{name} has joined through your invite and agreed "
                                      "to the terms.", name="Amina")


async def test_language_is_preselected_only_when_supported(harness):
    code, *_ = await _setup(harness)
    phone = harness.phone("Jean", "fr")
    replies = await phone.send(f"/start {code}")
    # French is not supported: the default language speaks and nothing is preselected.
    assert replies[0]["text"] == tr("sv", "Welcome! Please choose your language.")
    assert not any(b.startswith("✓") for b in phone.buttons())


async def test_declining_consent_stores_nothing_and_the_link_still_works(harness):
    code, *_ = await _setup(harness)
    phone = harness.phone("Amina", "en")
    await phone.send(f"/start {code}")
    await phone.press("English")
    await phone.press("No, thanks")
    assert "Nothing about you has been stored" in phone.last_text
    assert "open the same link again" in phone.last_text
    with harness.db() as db:
        assert db.scalar(select(func.count()).select_from(Person).where(
            Person.telegram_user_id == phone.id)) == 0
        assert db.scalar(select(func.count()).select_from(ConversationState)) == 0
        assert db.scalar(select(Invite).where(Invite.code == code)).used_at is None
    await phone.send(f"/start {code}")
    assert phone.last_text == "Welcome! Please choose your language."


async def test_start_without_code_explains_what_to_do(harness):
    phone = harness.phone("Amina", "ar")
    replies = await phone.send("/start")
    assert replies[0]["text"] == tr("ar", "Welcome! This bot helps you keep track of your "
                                   "meetings and plans at the job centre.\n\nTo get started, "
                                   "open the invite link or scan the QR code you got from your "
                                   "coach. If you have none, please ask your coach.")


async def test_unknown_used_and_expired_codes_are_explained(harness):
    code, *_ = await _setup(harness)
    phone = harness.phone("Amina", "en")
    await phone.send("/start not-a-real-code")
    assert phone.last_text.startswith("This invite link is not valid.")
    await phone.send("/start ../../etc/passwd")
    assert phone.last_text.startswith("This invite link is not valid.")

    # Someone else uses the invite; then it is used.
    first = harness.phone("Omar", "en")
    await agree(first, code)
    await phone.send(f"/start {code}")
    assert phone.last_text.startswith("This invite link has already been used.")

    with harness.db() as db:
        centre_id = db.scalar(select(Invite.job_centre_id).where(Invite.code == code))
        centre = db.get(factories.JobCentre, centre_id)
        short = factories.aspirant_invite(db, harness.clock.now(), centre,
                                          valid_for=timedelta(days=1)).code
    harness.clock.advance(timedelta(days=1, minutes=1))
    await phone.send(f"/start {short}")
    assert phone.last_text.startswith("This invite link has expired.")
    assert "ask your coach" in phone.last_text


async def test_repeated_bad_codes_are_rate_limited(harness):
    code, *_ = await _setup(harness)
    phone = harness.phone("Mallory", "en")
    for attempt in range(5):
        await phone.send(f"/start guess{attempt}")
        assert phone.last_text.startswith("This invite link is not valid.")
    # Even a valid code is not looked at while the limit holds.
    await phone.send(f"/start {code}")
    assert phone.last_text.startswith("Too many invalid links")
    with harness.db() as db:
        assert db.scalar(select(Invite).where(Invite.code == code)).used_at is None
    harness.clock.advance(timedelta(minutes=16))
    await phone.send(f"/start {code}")
    assert phone.last_text == "Welcome! Please choose your language."


async def test_opening_ones_own_invite_again_is_harmless(harness):
    code, *_ = await _setup(harness)
    phone = harness.phone("Amina", "en")
    await agree(phone, code)
    await phone.press("I'll come")
    replies = await phone.send(f"/start {code}")
    assert replies[0]["text"] == "You are already registered. Welcome back!"
    with harness.db() as db:
        assert db.scalar(select(func.count()).select_from(Enrolment)) == 1
        assert db.scalar(select(func.count()).select_from(Booking)) == 1


async def test_enrolled_aspirant_cannot_take_someone_elses_invite(harness):
    code, *_ = await _setup(harness)
    phone = harness.phone("Amina", "en")
    await agree(phone, code)
    with harness.db() as db:
        centre = db.scalar(select(factories.JobCentre))
        other = factories.aspirant_invite(db, harness.clock.now(), centre).code
    await phone.send(f"/start {other}")
    assert phone.last_text.startswith("You are already registered, so this link cannot be used")
    with harness.db() as db:
        assert db.scalar(select(Invite).where(Invite.code == other)).used_at is None
    # ...and it still works for the person it was meant for.
    friend = harness.phone("Omar", "en")
    await agree(friend, other)
    assert friend.texts[-2] == "Thank you! You are now registered."


async def test_full_session_offers_the_next_ones_with_free_places(harness):
    code, _coach, session_id, centre_id = await _setup(harness, capacity=1)
    now = harness.clock.now()
    with harness.db() as db:
        centre = db.get(factories.JobCentre, centre_id)
        later = factories.session(db, now, centre, local(2026, 3, 11, 13, 0))
        later_id = later.id
        taken = factories.staff(db, now, Role.ASPIRANT, centre, name="X")
        db.add(Booking(info_session_id=session_id, aspirant_id=taken.id,
                       status=BookingStatus.BOOKED, created_at=now, updated_at=now))
    phone = harness.phone("Amina", "en")
    replies = await agree(phone, code)
    # The invited session is full, so the choice is offered straight away.
    assert replies[-1]["text"] == "Choose a time for your information session:"
    assert len(phone.buttons()) == 1
    await phone.press(data=f"ob:s:{later_id}")
    assert phone.last_text == "What would you like to do? Use the menu below."
    with harness.db() as db:
        person = people.by_telegram_id(db, phone.id)
        booking = db.scalar(select(Booking).where(Booking.aspirant_id == person.id))
        assert booking.info_session_id == later_id


async def test_choosing_another_time_and_a_place_taken_meanwhile(harness):
    code, _coach, session_id, centre_id = await _setup(harness)
    now = harness.clock.now()
    with harness.db() as db:
        centre = db.get(factories.JobCentre, centre_id)
        later = factories.session(db, now, centre, local(2026, 3, 11, 13, 0), capacity=1)
        later_id = later.id
    phone = harness.phone("Amina", "en")
    await agree(phone, code)
    await phone.press("Choose another time")
    assert phone.last_text == "Choose a time for your information session:"
    # Someone takes the last place before Amina presses.
    with harness.db() as db:
        taken = factories.staff(db, now, Role.ASPIRANT, db.get(factories.JobCentre, centre_id),
                                name="X")
        db.add(Booking(info_session_id=later_id, aspirant_id=taken.id,
                       status=BookingStatus.BOOKED, created_at=now, updated_at=now))
    await phone.press(data=f"ob:s:{later_id}")
    toast = harness.emulator.callback_answers[-1]
    assert toast["text"] == "That information session is full. Please choose another."
    assert phone.last_text == "Choose a time for your information session:"
    await phone.press(data=f"ob:s:{session_id}")
    assert phone.last_text == "What would you like to do? Use the menu below."


async def test_no_session_with_places_tells_the_coach_will_call(harness):
    code, *_ = await _setup(harness, with_session=False)
    phone = harness.phone("Amina", "en")
    replies = await agree(phone, code)
    assert replies[0]["text"].startswith("There is no information session with free places")
    assert phone.reply_keyboard, "the menu is shown anyway"


async def test_tampered_buttons_change_nothing(harness):
    code, _coach, _session_id, _centre = await _setup(harness)
    now = harness.clock.now()
    with harness.db() as db:
        other_centre = factories.centre(db, now, name="Jobbtorg Farsta")
        foreign = factories.session(db, now, other_centre, local(2026, 3, 5, 9, 0)).id
    phone = harness.phone("Amina", "en")
    # Pressing onboarding buttons without being in the flow.
    await phone.send(f"/start {code}")
    message_id = phone.bot_messages[-1]["message_id"]
    await phone.press_data(message_id, "ob:l:xx")
    assert harness.emulator.callback_answers[-1]["text"] == "This button is no longer active."
    await phone.press_data(message_id, "ob:c:y")  # consent before choosing a language
    assert harness.emulator.callback_answers[-1]["text"] == "This button is no longer active."
    await phone.press("English")
    await phone.press("I agree")
    await phone.press_data(message_id, f"ob:s:{foreign}")  # a session at another centre
    assert harness.emulator.callback_answers[-1]["text"] == "This button is no longer active."
    with harness.db() as db:
        assert db.scalar(select(func.count()).select_from(Booking).where(
            Booking.info_session_id == foreign)) == 0


async def test_staff_invite_makes_a_coach(harness):
    now = harness.clock.now()
    with harness.db() as db:
        centre = factories.centre(db, now)
        from bot.services.people import invites

        code = invites.create(db, now, role=Role.COACH, job_centre=centre).code
    phone = harness.phone("Karin", "sv")
    await phone.send(f"/start {code}")
    assert phone.texts[0] == tr("sv", "You are now registered as {role} for {centre}.",
                               role=tr("sv", "coach"), centre="Jobbtorg Kista")
    with harness.db() as db:
        person = people.by_telegram_id(db, phone.id)
        assert person.has_role(Role.COACH)
        assert not person.has_role(Role.ADMIN)


async def test_language_switch_reaches_scheduled_messages(harness):
    code, *_ = await _setup(harness)
    phone = harness.phone("Amina", "en")
    await agree(phone, code)
    await phone.press("I'll come")
    # A message queued for tomorrow, while Amina still reads English.
    from bot.services.messaging import outbox

    with harness.db() as db:
        person = people.by_telegram_id(db, phone.id)
        outbox.enqueue(db, harness.clock.now(), person, "Good, nothing has changed.",
                       due_at=harness.clock.now() + timedelta(days=1))
    await phone.tap_menu("Language")
    await phone.press("العربية")
    assert phone.last_text == tr("ar", "What would you like to do? Use the menu below.")
    assert phone.reply_keyboard[0][0]["text"] == f"📅 {tr('ar', 'My schedule')}"
    harness.clock.advance(timedelta(days=1))
    await harness.dispatch()
    assert phone.last_text == tr("ar", "Good, nothing has changed.")


async def test_mydata_shows_what_is_stored_and_stop_erases_it(harness):
    code, coach_phone, *_ = await _setup(harness)
    phone = harness.phone("Amina", "en")
    await agree(phone, code)
    await phone.press("I'll come")
    await harness.dispatch()

    from bot.services.attendance import follow_up

    with harness.db() as db:
        coach = people.by_telegram_id(db, coach_phone.id)
        enrolment = db.scalar(select(Enrolment))
        follow_up.add_note(db, harness.clock.now(), coach, enrolment.id,
                           harness.clock.now().date(), "Called, will come tomorrow")
    replies = await phone.send("/mydata")
    text = replies[0]["text"]
    assert "Called, will come tomorrow" in text
    for expected in ("Name: Amina", f"Telegram id: {phone.id}", "Language: English",
                     "Job centre: Jobbtorg Kista", "Coach: Karin",
                     "Daily attendance required: yes", "Information sessions:"):
        assert expected in text

    await phone.tap_menu("Stop")
    await phone.press("No, continue")
    assert phone.last_text == "Good, nothing has changed."
    await phone.send("/stop")
    await phone.press("Yes, stop and erase")
    assert phone.last_text == "Goodbye!"
    with harness.db() as db:
        assert people.by_telegram_id(db, phone.id) is None
        erased = db.scalar(select(Person).where(Person.erased_at.is_not(None)))
        assert erased.display_name is None and erased.chat_id is None
        assert db.scalar(select(Enrolment)).left_at is not None
        assert db.scalar(select(Booking)).status == BookingStatus.CANCELLED
        from bot.models import AttendanceNote

        assert db.scalar(select(AttendanceNote)).text is None
        # Anonymous counts remain: the enrolment row is still there for the figures.
        assert db.scalar(select(func.count()).select_from(Enrolment)) == 1
    await harness.dispatch()
    assert coach_phone.last_text == tr("sv", "{name} has stopped using the bot. Their personal "
                                      "data has been erased and they get no more reminders.",
                                      name="Amina")
    with harness.db() as db:
        # Once said, the name is not kept in the queue either.
        assert all(m.params == {} for m in db.scalars(select(OutboxMessage)))
    # The erased person is a stranger now.
    await phone.send("/mydata")
    assert phone.last_text.startswith("I don't know you yet.")


async def test_roles_are_enforced(harness):
    code, *_ = await _setup(harness)
    stranger = harness.phone("Eve", "en")
    await stranger.send("/invite")
    assert stranger.last_text.startswith("I don't know you yet.")
    phone = harness.phone("Amina", "en")
    await agree(phone, code)
    await phone.send("/invite")
    assert phone.last_text == "Sorry, this is not available to you."
    # A forged invite-flow button from an aspirant is refused too.
    await phone.press_data(phone.bot_messages[-1]["message_id"], "iv:a:1")
    assert harness.emulator.callback_answers[-1]["text"] == "Sorry, this is not available to you."
    with harness.db() as db:
        assert db.scalar(select(func.count()).select_from(Invite)) == 1


async def test_unknown_text_gets_a_hint(harness):
    code, *_ = await _setup(harness)
    phone = harness.phone("Amina", "en")
    await agree(phone, code)
    # Still choosing a time: the text is answered with that step (see test_first_contact).
    await phone.press("I'll come")
    await phone.send("hello?")
    assert phone.last_text == "Sorry, I did not understand that. Please use the menu or /help."


async def test_a_reply_telegram_fails_once_is_sent_again(harness):
    from bot.emulator import Fault

    code, *_ = await _setup(harness)
    phone = harness.phone("Amina", "ar")
    harness.emulator.inject(Fault("5xx", "sendMessage"))
    await phone.send(f"/start {code}")
    assert phone.last_text == tr("ar", "Welcome! Please choose your language.")
    assert len(harness.pauses) == 1  # one short wait before trying again


async def test_a_reply_telegram_keeps_failing_waits_in_the_outbox(harness):
    from bot.emulator import Fault

    code, *_ = await _setup(harness)
    phone = harness.phone("Amina", "ar")
    harness.emulator.inject(Fault("5xx", "sendMessage", times=3))
    await phone.send(f"/start {code}")
    assert phone.texts == []
    # Telegram answers again: the welcome that was decided and committed arrives.
    report = await harness.dispatch()
    assert report.sent == 1
    assert phone.last_text == tr("ar", "Welcome! Please choose your language.")
    await phone.press(LANGUAGES["ar"])
    assert phone.last_text == tr("ar", CONSENT_TEXT)


async def test_a_failure_is_explained_in_the_users_language(sqlite_url, clock):
    """The database cannot be written (another process holds it): nothing changes and the
    person is told, in their language, to try again."""
    import sqlite3

    from bot.db import make_engine, make_session_factory
    from bot.runtime import Runtime
    from tests.conftest import make_settings
    from tests.harness import start_harness

    engine = make_engine(sqlite_url, connect_args={"check_same_thread": False, "timeout": 0.05})
    runtime = Runtime(settings=make_settings(sqlite_url), clock=clock,
                      sessions=make_session_factory(engine))
    harness, application = await start_harness(runtime, clock)
    # Nothing to re-plan here, and the harness's own planning would find the file locked.
    harness.plan_after_updates = False
    try:
        code, *_ = await _setup(harness)
        phone = harness.phone("Amina", "ar")
        blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        await phone.send(f"/start {code}")
        assert phone.last_text == tr("ar", "Sorry, something went wrong on our side. Nothing "
                                     "you sent is lost; please try again in a moment.")
        blocker.execute("ROLLBACK")
        blocker.close()
        # The invite is untouched and works on the next try.
        await phone.send(f"/start {code}")
        assert phone.last_text == tr("ar", "Welcome! Please choose your language.")
    finally:
        await application.shutdown()
        engine.dispose()


async def test_session_times_read_in_the_centres_zone_across_daylight_saving(harness):
    # 30 March 2026 is the first Monday of summer time: 09:30 local is 07:30 UTC.
    code, *_ = await _setup(harness, session_start=local(2026, 3, 30, 9, 30))
    phone = harness.phone("Amina", "en")
    replies = await agree(phone, code)
    assert "Monday, 30 March 2026, 09:30–11:30" in replies[0]["text"]


def test_right_to_left_lines_keep_their_direction():
    from datetime import date

    t = translator("ar")
    text = t._("{date}, {start}–{end}\n{place}", date=date(2026, 3, 4), start="09:30",
               end="11:30", place="Kistagången 2, Kista")
    for line in text.split("\n"):
        # Each line opens with a right-to-left mark, values are isolated inside it.
        assert line.startswith("\u200f\u2068"), repr(line)
    assert "\u2068Kistagången 2, Kista\u2069" in text
    # Left-to-right languages are left alone.
    english = translator("en")._("{date}, {start}–{end}\n{place}", date=date(2026, 3, 4),
                                 start="09:30", end="11:30", place="Kistagången 2")
    assert "\u200f" not in english and "\u2068" not in english
