"""Drive the real Application through ``process_update`` against the in-process emulator.

Nothing of the project is mocked: the only stand-in is the Bot API itself,
answered by ``BotApiEmulator`` through ``EmulatorRequest``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import Application

from bot.app import _post_init, build_application
from bot.clock import ManualClock
from bot.db import in_unit_of_work, unit_of_work
from bot.emulator import ApiCall, BotApiEmulator, EmulatorRequest
from bot.presentation import callbacks
from bot.runtime import Runtime
from scheduler.dispatcher import Dispatcher, DispatchReport
from scheduler.planning_jobs import PlanningWorker


class Phone:
    """One emulated user's private chat with the bot."""

    def __init__(self, harness: BotHarness, user: dict[str, Any]) -> None:
        self.harness = harness
        self.user = user
        self.id: int = user["id"]
        self._seen = 0

    # --- acting -------------------------------------------------------------------------
    async def send(self, text: str) -> list[dict[str, Any]]:
        """Send text; returns the bot's messages that arrived in reply."""
        self._mark()
        await self.harness.process(self.harness.emulator.user_sends_text(self.id, text))
        return self.new_messages()

    async def share_location(self, latitude: float, longitude: float, *,
                             live_period: int | None = None) -> list[dict[str, Any]]:
        """A location pin, or a live location shared for ``live_period`` seconds."""
        self._mark()
        update = self.harness.emulator.user_shares_location(self.id, latitude, longitude,
                                                            live_period)
        await self.harness.process(update)
        return self.new_messages()

    async def press(self, label: str | None = None, *, data: str | None = None,
                    message: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Press the inline button with this label (or callback data) on the latest message
        that has one."""
        target, button = self.find_button(label, data=data, message=message)
        self._mark()
        update = self.harness.emulator.user_presses(self.id, target["message_id"],
                                                    button["callback_data"])
        await self.harness.process(update)
        return self.new_messages()

    async def press_data(self, message_id: int, data: str) -> list[dict[str, Any]]:
        """Send a callback query with arbitrary data, as a tampered client could."""
        self._mark()
        await self.harness.process(self.harness.emulator.user_presses(self.id, message_id, data))
        return self.new_messages()

    async def tap_menu(self, label: str) -> list[dict[str, Any]]:
        """Tap a reply-keyboard button whose text contains ``label``."""
        for row in self.reply_keyboard:
            for button in row:
                text = button["text"] if isinstance(button, dict) else button
                if label in text:
                    return await self.send(text)
        raise AssertionError(f"no menu button {label!r} in {self.reply_keyboard}")

    # --- reading ------------------------------------------------------------------------
    def find_button(self, label: str | None = None, *, data: str | None = None,
                    message: dict[str, Any] | None = None
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
        candidates = [message] if message else reversed(self.bot_messages)
        for candidate in candidates:
            for row in candidate.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if (label is not None and label in button["text"]) or (
                        data is not None and button.get("callback_data") == data
                    ):
                        return candidate, button
        raise AssertionError(f"no button {label or data!r}; last: {self.last_text!r}")

    def buttons(self, message: dict[str, Any] | None = None) -> list[str]:
        message = message or self.last_with_buttons()
        return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", [])
                for b in row]

    def last_with_buttons(self) -> dict[str, Any]:
        for message in reversed(self.bot_messages):
            if message.get("reply_markup"):
                return message
        raise AssertionError("no message with buttons")

    @property
    def bot_messages(self) -> list[dict[str, Any]]:
        return self.harness.emulator.bot_messages(self.id)

    @property
    def texts(self) -> list[str]:
        return [m.get("text") or m.get("caption") or "" for m in self.bot_messages]

    @property
    def last_text(self) -> str:
        texts = self.texts
        return texts[-1] if texts else ""

    @property
    def reply_keyboard(self) -> list[list[Any]]:
        markup = self.harness.emulator.reply_keyboards.get(self.id)
        return markup["keyboard"] if markup else []

    def _mark(self) -> None:
        self._seen = len(self.bot_messages)

    def new_messages(self) -> list[dict[str, Any]]:
        messages = self.bot_messages[self._seen:]
        self._seen = len(self.bot_messages)
        return messages


class WatchfulRequest(EmulatorRequest):
    """The emulated Bot API, noting every call made while a unit of work is open on the
    calling thread: decide, commit, then talk (the harness fails the test on any)."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        super().__init__(emulator)
        self.calls_in_transaction: list[str] = []

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        if in_unit_of_work():
            self.calls_in_transaction.append(url.rsplit("/", 1)[-1])
        return await super().do_request(url, method, request_data, *args, **kwargs)


class BotHarness:
    def __init__(self, application: Application, emulator: BotApiEmulator,
                 runtime: Runtime, clock: ManualClock, request: WatchfulRequest) -> None:
        self.app = application
        self.request = request
        self.emulator = emulator
        self.runtime = runtime
        self.clock = clock
        # Waits in real time are recorded, not waited: tests run on the injected clock.
        self.pauses: list[float] = []
        runtime.pause = self._pause
        # No per-chat pacing: it waits in real time, and tests run on the injected clock.
        self.dispatcher = Dispatcher(application.bot, runtime, worker="test", chat_interval=0)
        # Re-planning that a chat action recorded (a centre-wide change at scale) runs in
        # the background in the bot; here it is finished before ``process`` returns, so a
        # test reads the planned rows right after the action. False leaves it to the test.
        self.plan_after_updates = True
        self.planning = PlanningWorker(runtime, name="test")

    async def _pause(self, seconds: float) -> None:
        self.pauses.append(seconds)

    def phone(self, first_name: str, language_code: str | None = None) -> Phone:
        return Phone(self, self.emulator.add_user(first_name, language_code))

    async def process(self, update: dict[str, Any]) -> None:
        # As over the network: a copy (python-telegram-bot's parsing changes what it reads).
        await self.app.process_update(Update.de_json(json.loads(json.dumps(update)),
                                                     self.app.bot))
        if self.plan_after_updates:
            await self.planning.drain()

    async def dispatch(self) -> DispatchReport:
        """Send whatever the outbox has due at the harness clock's now."""
        return await self.dispatcher.run()

    @contextmanager
    def db(self) -> Iterator[Session]:
        with unit_of_work(self.runtime.sessions) as session:
            yield session

    @property
    def bot_username(self) -> str:
        return self.emulator.bot_user["username"]

    def untyped_buttons(self) -> list[tuple[str, str]]:
        return untyped_buttons(self.emulator.calls)


def untyped_buttons(calls: Iterable[ApiCall]) -> list[tuple[str, str]]:
    """Inline buttons sent in these Bot API calls whose data no typed callback kind decodes,
    as (method, data): empty when every button builder goes through that module."""
    found = []
    for call in calls:
        markup = call.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if not isinstance(markup, dict):
            continue
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and callbacks.parse(data) is None:
                    found.append((call.method, data))
    return found


async def start_harness(runtime: Runtime, clock: ManualClock) -> tuple[BotHarness, Application]:
    emulator = BotApiEmulator()
    settings = runtime.settings.model_copy(update={"telegram_token": emulator.token})
    runtime.settings = settings
    request = WatchfulRequest(emulator)
    application = build_application(settings, runtime=runtime, request=request,
                                    rate_limit=False, start_scheduler=False)
    await application.initialize()
    await _post_init(application)
    return BotHarness(application, emulator, runtime, clock, request), application
