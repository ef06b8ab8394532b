"""The real bot, as a process, onboards an Arabic-speaking aspirant over HTTP.

Everything below the Bot API is real: the command line, python-telegram-bot's
long polling, the handlers, the database, and the outbox dispatcher on the
APScheduler job queue. Only Telegram is emulated (on 127.0.0.1).
"""

from __future__ import annotations

import re
import signal
from typing import Any

import pytest
from sqlalchemy import select

from bot.db import make_engine, make_session_factory, unit_of_work
from bot.emulator import Fault
from bot.i18n import LANGUAGES, translator
from bot.models import Booking, BookingStatus, Enrolment, InfoSession, OutboxMessage, Person
from bot.presentation.keyboards import aspirant_menu
from bot.presentation.views import session_summary
from handlers.onboarding import CONSENT_TEXT
from tests.e2e.conftest import Driver, Seed

pytestmark = pytest.mark.e2e

ARABIC = "ar"
SESSION_BUTTON = re.compile(r"^ob:s:\d+$")


def tr(text: str, **params: Any) -> str:
    return translator(ARABIC)._(text, **params)


def _texts(driver: Driver, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in driver.bot_messages(chat_id)]


def _reply_keyboard(driver: Driver, chat_id: int) -> list[str] | None:
    markup = driver.emulator.reply_keyboards.get(chat_id)
    if not markup:
        return None
    return [b["text"] if isinstance(b, dict) else b for row in markup["keyboard"] for b in row]


def _coach_notices(driver: Driver, seed: Seed) -> list[str]:
    """The "has joined" notices in the coach's chat (the coach reads Swedish)."""
    joined = translator("sv")._("{name} has joined through your invite and agreed to the terms.",
                                name="Amina")
    return [text for text in _texts(driver, seed.coach_chat) if text == joined]


async def _onboard_until_session_offer(driver: Driver, seed: Seed) -> tuple[int, dict, dict]:
    """/start with the invite, pick Arabic, agree; returns the chat and the offer's button."""
    aspirant = driver.emulator.add_user("Amina", ARABIC)["id"]
    driver.emulator.user_sends_text(aspirant, f"/start {seed.invite_code}")

    picker = await driver.wait_for(
        "the language picker",
        lambda: driver.message_with_button(aspirant, lambda d: d.startswith("ob:l:")))
    message, _button = picker
    assert message["text"] == tr("Welcome! Please choose your language.")
    arabic = [b for row in message["reply_markup"]["inline_keyboard"] for b in row
              if LANGUAGES[ARABIC] in b["text"]]
    assert [b["callback_data"] for b in arabic] == ["ob:l:ar"]
    driver.press(aspirant, message, arabic[0])

    consent = await driver.wait_for(
        "the consent text", lambda: driver.message_with_button(aspirant, "ob:c:y".__eq__))
    message, agree = consent
    assert message["text"] == tr(CONSENT_TEXT)
    assert agree["text"] == tr("I agree")
    driver.press(aspirant, message, agree)

    offer = await driver.wait_for(
        "the information session offer",
        lambda: driver.message_with_button(aspirant, SESSION_BUTTON.match))
    return aspirant, offer[0], offer[1]


def _booking_confirmation(seed: Seed) -> str:
    engine = make_engine(seed.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as db:
            session = db.get(InfoSession, seed.session_id)
            assert session is not None
            return tr("You are booked for the information session:\n\n{summary}",
                      summary=session_summary(translator(ARABIC), session))
    finally:
        engine.dispose()


async def test_aspirant_onboards_against_the_real_bot_process(start_bot, seed: Seed) -> None:
    driver: Driver = await start_bot()

    aspirant, offer, come = await _onboard_until_session_offer(driver, seed)
    assert come["callback_data"] == f"ob:s:{seed.session_id}"
    driver.press(aspirant, offer, come)

    confirmation = _booking_confirmation(seed)
    menu = [button.text for row in aspirant_menu(translator(ARABIC)).keyboard for button in row]
    await driver.wait_for("the booking confirmation",
                          lambda: confirmation in _texts(driver, aspirant))
    await driver.wait_for("the aspirant's menu",
                          lambda: _reply_keyboard(driver, aspirant) == menu)
    # The coach's notice goes through the outbox and the dispatcher on the job queue.
    notices = await driver.wait_for("the coach's notice", lambda: _coach_notices(driver, seed))
    assert len(notices) == 1 and "Amina" in notices[0]

    # The booking confirmation replaced the offer, so its buttons cannot be pressed again.
    edited = driver.emulator.find_message(aspirant, offer["message_id"])
    assert edited is not None and edited["text"] == confirmation
    assert "reply_markup" not in edited

    # The handler commits after its last reply, so wait for the database too.
    stored = await driver.wait_for("the booking in the database",
                                   lambda: _enrolment_and_bookings(seed, aspirant))
    assert stored == {
        "language": ARABIC,
        "consented": True,
        "enrolments": [(seed.centre_id, seed.coach_id)],
        "bookings": [(seed.session_id, BookingStatus.BOOKED)],
    }

    methods = {call.method for call in driver.emulator.calls}
    assert {"getMe", "deleteWebhook", "setMyCommands", "getUpdates"} <= methods
    assert all(call.status == 200 for call in driver.emulator.calls), [
        (c.method, c.status) for c in driver.emulator.calls if c.status != 200]

    assert await driver.bot.stop(signal.SIGINT) == 0, driver.bot.output()
    assert "Traceback" not in driver.bot.output()


async def test_coach_notice_survives_a_bad_gateway(start_bot, seed: Seed) -> None:
    driver: Driver = await start_bot()

    aspirant, offer, come = await _onboard_until_session_offer(driver, seed)
    # The consent step is done and its outbox row commits when the handler returns; the
    # next sendMessage is the dispatcher's notice to the coach. Telegram fails it once.
    driver.emulator.inject(Fault("5xx", "sendMessage"))

    # The dispatcher backs off (5 s for the first retry) and sends it again.
    await driver.wait_for("the coach's notice after the retry",
                          lambda: _coach_notices(driver, seed))
    coach_sends = [c for c in driver.emulator.calls
                   if c.method == "sendMessage" and c.params.get("chat_id") == seed.coach_chat]
    assert [c.status for c in coach_sends] == [502, 200], "the fault must hit the coach notice"
    assert len(_coach_notices(driver, seed)) == 1

    # Sent once, after one failed attempt; nothing left queued to send it again.
    await driver.wait_for("the notice to be recorded as sent",
                          lambda: _coach_outbox(seed) == [("sent", 2)])

    # The aspirant was not affected: they can still book.
    driver.press(aspirant, offer, come)
    confirmation = _booking_confirmation(seed)
    await driver.wait_for("the booking confirmation",
                          lambda: confirmation in _texts(driver, aspirant))
    assert len(_coach_notices(driver, seed)) == 1

    assert await driver.bot.stop(signal.SIGTERM) == 0, driver.bot.output()


def _coach_outbox(seed: Seed) -> list[tuple[str, int]]:
    """(status, attempts) of the messages queued for the coach."""
    engine = make_engine(seed.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as db:
            rows = db.scalars(select(OutboxMessage).where(
                OutboxMessage.recipient_id == seed.coach_id).order_by(OutboxMessage.id))
            return [(row.status.value, row.attempts) for row in rows]
    finally:
        engine.dispose()


def _enrolment_and_bookings(seed: Seed, aspirant_chat: int) -> dict[str, Any] | None:
    """What the database holds about the aspirant, once their booking is committed."""
    engine = make_engine(seed.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as db:
            person = db.scalar(select(Person).where(Person.telegram_user_id == aspirant_chat))
            if person is None:
                return None
            bookings = db.scalars(select(Booking).where(Booking.aspirant_id == person.id)).all()
            if not bookings:
                return None
            enrolments = db.scalars(select(Enrolment).where(
                Enrolment.aspirant_id == person.id)).all()
            return {
                "language": person.language,
                "consented": person.consent_at is not None,
                "enrolments": [(e.job_centre_id, e.coach_id) for e in enrolments],
                "bookings": [(b.info_session_id, b.status) for b in bookings],
            }
    finally:
        engine.dispose()
