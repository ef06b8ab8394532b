"""The emulated Bot API's webhook: set, inspect, delete, and updates posted to it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from bot.emulator import BotApiEmulator

SECRET = "s3cret_-token"
PUBLIC = "https://bot.example.org/hook"


@dataclass
class Receiver:
    """A webhook endpoint that records what it is posted, answering ``statuses`` in turn."""

    url: str = ""
    posts: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.append((await request.json(),
                           request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def receivers() -> AsyncIterator[list[Receiver]]:
    made: list[Receiver] = []
    runners: list[web.AppRunner] = []
    for _ in range(2):
        receiver = Receiver()
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        receiver.url = f"http://127.0.0.1:{port}/hook"
        made.append(receiver)
        runners.append(runner)
    yield made
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator()
    emulator.webhook_retry_delay = 0.01
    yield emulator
    await emulator.stop_delivery()


async def _until(probe: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _set(emulator: BotApiEmulator, **params: Any) -> tuple[int, dict[str, Any]]:
    return emulator.call("setWebhook", {"url": PUBLIC, "secret_token": SECRET,
                                        "allowed_updates": '["message", "callback_query"]',
                                        **params})


async def test_set_and_inspect_the_webhook(emulator: BotApiEmulator) -> None:
    assert emulator.call("getWebhookInfo", {})[1]["result"]["url"] == ""
    assert _set(emulator) == (200, {"ok": True, "result": True})
    info = emulator.call("getWebhookInfo", {})[1]["result"]
    assert info["url"] == PUBLIC and info["allowed_updates"] == ["message", "callback_query"]

    status, body = emulator.call("getUpdates", {"timeout": 0})
    assert status == 409 and body["description"].startswith(
        "Conflict: can't use getUpdates method while webhook is active")

    assert emulator.call("deleteWebhook", {})[0] == 200
    assert emulator.call("getUpdates", {})[0] == 200


@pytest.mark.parametrize(("params", "error"), [
    ({"url": "http://bot.example.org/hook"}, "An HTTPS URL must be provided"),
    ({"secret_token": "has space"}, "secret token contains unallowed characters"),
    ({"secret_token": "x" * 257}, "secret token contains unallowed characters"),
])
async def test_bad_webhooks_are_refused(emulator: BotApiEmulator, params: dict[str, str],
                                        error: str) -> None:
    status, body = _set(emulator, **params)
    assert status == 400 and error in body["description"]
    assert emulator.webhook is None


async def test_updates_are_posted_with_the_secret_in_turn(
        emulator: BotApiEmulator, receivers: list[Receiver]) -> None:
    first, second = receivers
    emulator.webhook_targets = [first.url, second.url]
    user = emulator.add_user("Amina", "ar")["id"]
    waiting = emulator.user_sends_text(user, "before the webhook")
    _set(emulator)
    later = [emulator.user_sends_text(user, f"message {n}") for n in range(3)]

    await _until(lambda: len(first.posts) + len(second.posts) == 4)
    assert [body for body, _secret in first.posts] == [waiting, later[1]]
    assert [body for body, _secret in second.posts] == [later[0], later[2]]
    assert {secret for _body, secret in first.posts + second.posts} == {SECRET}
    assert emulator.deliveries() == {waiting["update_id"]: first.url,
                                     later[0]["update_id"]: second.url,
                                     later[1]["update_id"]: first.url,
                                     later[2]["update_id"]: second.url}
    assert emulator.pending_updates() == 0


async def test_a_failed_post_is_retried(emulator: BotApiEmulator,
                                        receivers: list[Receiver]) -> None:
    receiver = receivers[0]
    receiver.statuses = [500, 502]
    _set(emulator, url=PUBLIC)
    emulator.webhook_targets = [receiver.url]
    user = emulator.add_user("Erik", "sv")["id"]
    update = emulator.user_sends_text(user, "hej")

    await _until(lambda: emulator.deliveries())
    assert [a.status for a in emulator.webhook_attempts] == [500, 502, 200]
    assert [body for body, _secret in receiver.posts] == [update] * 3
    info = emulator.call("getWebhookInfo", {})[1]["result"]
    assert info["last_error_message"] == "Wrong response from the webhook: 502"


async def test_an_unreachable_webhook_keeps_the_update(emulator: BotApiEmulator,
                                                       receivers: list[Receiver]) -> None:
    receiver = receivers[0]
    emulator.webhook_retries = 1
    _set(emulator)
    emulator.webhook_targets = ["http://127.0.0.1:9/hook"]  # nothing listens there
    user = emulator.add_user("Hodan", "so")["id"]
    update = emulator.user_sends_text(user, "hello")
    await _until(lambda: len(emulator.webhook_attempts) == 2)
    await _until(lambda: not emulator.delivering)
    assert emulator.pending_updates() == 1
    assert emulator.call("getWebhookInfo", {})[1]["result"]["pending_update_count"] == 1

    # The instance is back: the next update brings the kept one first, in order.
    emulator.webhook_targets = [receiver.url]
    second = emulator.user_sends_text(user, "again")
    await _until(lambda: len(receiver.posts) == 2)
    assert [body for body, _secret in receiver.posts] == [update, second]

    # Without the webhook, updates wait for getUpdates again.
    emulator.call("deleteWebhook", {})
    third = emulator.user_sends_text(user, "polling")
    assert emulator.call("getUpdates", {})[1]["result"] == [third]
