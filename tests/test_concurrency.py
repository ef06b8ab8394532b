"""Decide, commit, then talk: people are served side by side, one person's updates in order,
and no Telegram call is made while a unit of work is open.

Updates go through the application's own update processor, as ``jobbot run`` hands them
over; the Bot API emulator can hold one chat's answers back, as a slow Telegram would.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from telegram import Update

from bot.emulator import BotApiEmulator
from bot.i18n import LANGUAGES
from bot.models import ConversationState, Role
from tests import factories
from tests.conftest import local
from tests.harness import BotHarness, WatchfulRequest


class SlowChats(WatchfulRequest):
    """Holds the bot's sends to chosen chats until released."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        super().__init__(emulator)
        self.held: dict[int, asyncio.Event] = {}
        self.waiting: dict[int, asyncio.Event] = {}
        self.methods: dict[int, str | None] = {}

    def hold(self, chat_id: int, method: str | None = None) -> None:
        """Hold sends to ``chat_id`` (only calls of ``method``, if given)."""
        self.held[chat_id] = asyncio.Event()
        self.waiting[chat_id] = asyncio.Event()
        self.methods[chat_id] = method

    def release(self, chat_id: int) -> None:
        self.held.pop(chat_id).set()

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        params = dict(request_data.parameters) if request_data else {}
        chat = params.get("chat_id")
        api_method = url.rsplit("/", 1)[-1]
        if chat in self.held and self.methods[chat] in (None, api_method):
            self.waiting[chat].set()
            await self.held[chat].wait()
        return await super().do_request(url, method, request_data, *args, **kwargs)


def submit(harness: BotHarness, update: dict[str, Any]) -> asyncio.Task[None]:
    """Hand an update to the application as polling or the webhook does."""
    app = harness.app
    parsed = Update.de_json(update, app.bot)
    return asyncio.create_task(
        app.update_processor.process_update(parsed, app.process_update(parsed)))


async def slow_harness(harness: BotHarness) -> SlowChats:
    request = SlowChats(harness.emulator)
    # The application's bot talks through the slow request from now on.
    harness.app.bot._request = (request, request)  # type: ignore[attr-defined]
    harness.request = request
    return request


def invite_code(harness: BotHarness) -> str:
    with harness.db() as db:
        now = harness.clock.now()
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, Role.COACH, centre, name="Johan")
        return factories.aspirant_invite(db, now, centre, coach).code


async def test_one_persons_updates_are_handled_in_order(harness):
    """Amina presses "I'll come" on the session offer while the map pin that follows it is
    still on its way: the press waits for the update before it, then finds it committed."""
    request = await slow_harness(harness)
    now = harness.clock.now()
    with harness.db() as db:
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, Role.COACH, centre, name="Johan")
        session = factories.session(db, now, centre, local(2026, 3, 4, 9, 30),
                                    latitude=59.4, longitude=17.9)
        code = factories.aspirant_invite(db, now, centre, coach, session).code
        session_id = session.id
    amina = harness.phone("Amina", "en")
    await amina.send(f"/start {code}")
    await amina.press(LANGUAGES["en"])
    request.hold(amina.id, "sendLocation")
    consent = submit(harness, harness.emulator.user_presses(
        amina.id, amina.find_button("I agree")[0]["message_id"], "ob:c:y"))
    await request.waiting[amina.id].wait()  # the offer is shown, the pin is on its way
    offer, _ = amina.find_button("I'll come")
    coming = submit(harness, harness.emulator.user_presses(amina.id, offer["message_id"],
                                                           f"ob:s:{session_id}"))
    for _ in range(50):
        await asyncio.sleep(0)
    assert not coming.done()  # it waits for Amina's update before it
    request.release(amina.id)
    await asyncio.gather(consent, coming)
    assert any(text.startswith("You are booked") for text in amina.texts[-3:])
    assert request.calls_in_transaction == []


async def test_a_slow_answer_for_one_person_does_not_delay_another(harness):
    request = await slow_harness(harness)
    code = invite_code(harness)
    amina = harness.phone("Amina", "ar")
    erik = harness.phone("Erik", "sv")
    request.hold(amina.id)
    slow = submit(harness, harness.emulator.user_sends_text(amina.id, f"/start {code}"))
    await request.waiting[amina.id].wait()
    # Telegram has not answered for Amina yet; Erik is answered meanwhile.
    fast = submit(harness, harness.emulator.user_sends_text(erik.id, "/start"))
    await asyncio.wait_for(fast, timeout=5)
    assert erik.last_text.startswith("Välkommen")
    assert not slow.done() and amina.texts == []
    request.release(amina.id)
    await slow
    assert amina.texts == [harness_text(harness, "ar", "Welcome! Please choose your language.")]
    assert request.calls_in_transaction == []


async def test_a_button_pressed_right_after_a_reply_finds_the_step_committed(harness):
    """The reply goes out only after the commit: by the time the person can press a
    button on it, the step it shows is already in the database."""
    request = await slow_harness(harness)
    code = invite_code(harness)
    amina = harness.phone("Amina", "en")
    request.hold(amina.id)
    opened = submit(harness, harness.emulator.user_sends_text(amina.id, f"/start {code}"))
    await request.waiting[amina.id].wait()
    with harness.db() as db:  # the picker is not shown yet, its step is already stored
        [state] = db.scalars(select(ConversationState)).all()
        assert (state.flow, state.step) == ("onboarding", "language")
    request.release(amina.id)
    await opened
    await amina.press(LANGUAGES["en"])
    assert "Before we start" in amina.last_text


def harness_text(harness: BotHarness, language: str, text: str) -> str:
    from bot.i18n import translator

    return translator(language)._(text)
