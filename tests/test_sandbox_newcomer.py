"""The sandbox as a newcomer uses it: stop and --keep in the middle of a step, a wrong
--start-at, what a link opened looks like, and the page's icon."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.errors import JobbotError
from bot.sandbox.app import CHATS_FILE, DATABASE_FILE, Sandbox
from bot.sandbox.seed import SANDBOX
from tests.conftest import make_settings
from tests.sandbox_support import STOCKHOLM, working_morning

AMINA = next(actor for actor in SANDBOX.actors if actor.key == "amina")


async def _get(sandbox: Sandbox, path: str) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as client, client.get(
            f"{sandbox.url.rstrip('/')}{path}") as response:
        await response.read()
        return response


async def _api(sandbox: Sandbox, method: str, path: str, body: Any = None) -> Any:
    async with aiohttp.ClientSession() as client, client.request(
            method, f"{sandbox.url.rstrip('/')}{path}", json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def _until(sandbox: Sandbox, condition: Callable[[], bool], timeout: float = 15) -> None:
    """Wait for the bot (a real poller) to have answered; fails after ``timeout``."""
    assert sandbox.emulator is not None
    async with asyncio.timeout(timeout):
        while not condition():
            await sandbox.emulator.wait_for_change(0.5)


def _amina(state: dict[str, Any]) -> dict[str, Any]:
    return next(phone for phone in state["phones"] if phone["key"] == "amina")


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


async def test_keep_brings_back_the_chats_so_a_half_finished_step_can_go_on(tmp_path: Path):
    data = tmp_path / "data"
    first = Sandbox(make_settings("sqlite://"), data_dir=data, port=0, start_at=working_morning())
    await first.start()
    try:
        await _api(first, "POST", "/api/phones/amina/invite")
        await _until(first, lambda: bool(first.emulator.bot_messages(AMINA.telegram_id)))  # type: ignore[union-attr]
        picker = _amina(await _api(first, "GET", "/api/state"))["messages"][-1]
        assert any(b["text"] == "English" for b in _buttons(picker))
    finally:
        await first.stop()

    second = Sandbox(make_settings("sqlite://"), data_dir=data, port=0, keep=True)
    await second.start()
    try:
        messages = _amina(await _api(second, "GET", "/api/state"))["messages"]
        # The chat is as it was: the link opened, and the language buttons under the question.
        assert [m["text"] for m in messages] == ["Start", picker["text"]]
        english = next(b for b in _buttons(messages[-1]) if b["text"] == "English")
        await _api(second, "POST", "/api/phones/amina/press",
                   {"message_id": messages[-1]["id"], "data": english["callback_data"]})
        await _until(second, lambda: any(
            "I agree" in str(m.get("reply_markup"))
            for m in second.emulator.bot_messages(AMINA.telegram_id)))  # type: ignore[union-attr]
        # New messages continue the chat's numbering.
        ids = [m["message_id"] for m in second.emulator.chat_log(AMINA.telegram_id)]  # type: ignore[union-attr]
        assert ids == sorted(set(ids))
    finally:
        await second.stop()

    # Without --keep everything starts afresh, chats included.
    third = Sandbox(make_settings("sqlite://"), data_dir=data, port=0, start_at=working_morning())
    await third.start()
    try:
        assert _amina(await _api(third, "GET", "/api/state"))["messages"] == []
    finally:
        await third.stop()


async def test_start_at_in_the_past_is_refused_before_anything_is_wiped(tmp_path: Path):
    data = tmp_path / "data"
    first = Sandbox(make_settings("sqlite://"), data_dir=data, port=0, start_at=working_morning())
    await first.start()
    await _api(first, "POST", "/api/phones/amina/invite")
    await _until(first, lambda: bool(first.emulator.bot_messages(AMINA.telegram_id)))  # type: ignore[union-attr]
    await first.stop()
    before = {name: (data / name).read_bytes()
              for name in (DATABASE_FILE, CHATS_FILE) if (data / name).exists()}
    assert DATABASE_FILE in before and CHATS_FILE in before

    past = Sandbox(make_settings("sqlite://"), data_dir=data, port=0,
                   start_at=datetime(2020, 1, 1, 9, 0, tzinfo=STOCKHOLM))
    with pytest.raises(JobbotError, match="--start-at must not be in the past"):
        await past.start()
    await past.stop()
    assert {name: (data / name).read_bytes() for name in before} == before


async def test_an_opened_link_shows_as_start_and_the_page_has_an_icon(tmp_path: Path):
    sandbox = Sandbox(make_settings("sqlite://"), data_dir=tmp_path / "data", port=0,
                      start_at=working_morning())
    await sandbox.start()
    try:
        await _api(sandbox, "POST", "/api/phones/amina/invite")
        await _until(sandbox, lambda: bool(sandbox.emulator.bot_messages(AMINA.telegram_id)))  # type: ignore[union-attr]
        first = _amina(await _api(sandbox, "GET", "/api/state"))["messages"][0]
        assert first["bot"] is False and first["text"] == "Start"
        # What was typed stays as typed, even a /start with nothing after it.
        await _api(sandbox, "POST", "/api/phones/amina/text", {"text": "/start"})
        await _until(sandbox, lambda: len(_typed(sandbox)) == 2)
        assert _typed(sandbox)[-1] == "/start"

        icon = await _get(sandbox, "/favicon.ico")
        assert icon.status == 200 and icon.content_type == "image/x-icon"
        page = await _get(sandbox, "/")
        assert page.status == 200
    finally:
        await sandbox.stop()


def _typed(sandbox: Sandbox) -> list[str]:
    assert sandbox.emulator is not None and sandbox.view is not None
    return [sandbox.view._message(m).get("text", "")
            for m in sandbox.emulator.chat_log(AMINA.telegram_id)
            if not m.get("from", {}).get("is_bot")]
