"""The web console beside the offline bot: a browser-like client with a cookie jar that
signs in the way staff do, from the link the bot sends after /web.

The console runs in the test's event loop on the harness's runtime (its clock, its
database); the client is aiohttp's, talking HTTP to it on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import AsyncIterator, Awaitable
from html import unescape
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.db import head_revisions
from bot.web.app import make_app
from tests.harness import BotHarness, Phone

LINK = re.compile(r"https?://[^\s]+/signin/([A-Za-z0-9_-]+)")
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
_TOKEN = re.compile(r'name="token" value="([^"]+)"')
T = TypeVar("T")


class Browser:
    """One browser: its own cookies, so two browsers are two staff members."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.page = ""
        self.status = 0

    async def get(self, path: str, **kwargs: Any) -> str:
        async with self.client.get(path, **kwargs) as response:
            self.status = response.status
            self.page = await response.text()
            self.url = str(response.url)
        return self.page

    async def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]] | None = None,
                   *, csrf: bool = True, **kwargs: Any) -> str:
        """Submit a form; with ``csrf`` the token of the page shown last goes with it, as a
        browser would send the hidden field."""
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            fields.append(("csrf", self.csrf))
        async with self.client.post(path, data=fields, **kwargs) as response:
            self.status = response.status
            self.page = await response.text()
            self.url = str(response.url)
        return self.page

    @property
    def csrf(self) -> str:
        found = _CSRF.search(self.page)
        assert found, "the page shown last has no form with a CSRF token"
        return found.group(1)

    @property
    def text(self) -> str:
        """The page as a person reads it: tags dropped, entities decoded, spaces folded."""
        body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", self.page, flags=re.S)
        return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())

    async def open_link(self, link: str) -> str:
        """Open a sign-in link from the chat and press Sign in."""
        token = LINK.search(link)
        assert token, f"no sign-in link in {link!r}"
        await self.get(f"/signin/{token.group(1)}")
        if self.status != 200:
            return self.page
        posted = _TOKEN.search(self.page)
        assert posted
        return await self.post("/signin", {"token": posted.group(1)}, csrf=False)

    async def sign_in(self, phone: Phone) -> str:
        """Send /web in the chat and use the link the bot answers with."""
        await self.open_link(await link_for(phone))
        assert self.status == 200 and "/signout" in self.page, self.text[:500]
        return self.page


async def link_for(phone: Phone) -> str:
    replies = await phone.send("/web")
    assert replies, "the bot did not answer /web"
    return replies[-1].get("text", "")


class ConsoleUnderTest:
    def __init__(self, harness: BotHarness, server: TestServer) -> None:
        self.harness = harness
        self.server = server
        self._clients: list[TestClient] = []
        self.wall_clock_offset = 0.0

    async def browser(self, language: str | None = "en") -> Browser:
        """A browser whose user reads ``language`` (its Accept-Language), or none."""
        headers = {"Accept-Language": language} if language else {}
        client = TestClient(self.server, headers=headers)
        await client.start_server()
        self._clients.append(client)
        return Browser(client)

    async def close(self) -> None:
        for client in self._clients:
            await client.close()


@pytest.fixture
async def console(harness: BotHarness) -> AsyncIterator[ConsoleUnderTest]:
    url = harness.runtime.settings.database_url
    app = make_app(harness.runtime, heads=head_revisions(url))
    server = TestServer(app)
    await server.start_server()
    under_test = ConsoleUnderTest(harness, server)
    yield under_test
    await under_test.close()
    await server.close()


# --- the console in a thread of its own, for a real browser ---------------------------------
class LiveConsole:
    """The offline bot and the console on 127.0.0.1 (a free port), in a thread with its own
    event loop, so a synchronous Playwright browser can use the console while the test
    talks to the bot through ``call``. The clock is the harness's ManualClock."""

    def __init__(self, database_url: str, clock: Any) -> None:
        self.database_url = database_url
        self.clock = clock
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="console",
                                        daemon=True)
        self.harness: BotHarness | None = None
        self.url = ""
        self._engine: Any = None
        self._application: Any = None
        self._server: Any = None

    def call(self, awaitable: Awaitable[T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(awaitable, self.loop).result(timeout)  # type: ignore[arg-type]

    def start(self) -> LiveConsole:
        self._thread.start()
        self.call(self._start())
        return self

    async def _start(self) -> None:
        from bot.db import make_engine, make_session_factory
        from bot.runtime import Runtime
        from bot.web.app import ConsoleServer
        from tests.conftest import make_settings
        from tests.harness import start_harness

        self._engine = make_engine(self.database_url)
        port = _free_port()
        settings = make_settings(self.database_url, web_port=port,
                                 web_public_url=f"http://127.0.0.1:{port}")
        runtime = Runtime(settings=settings, clock=self.clock,
                          sessions=make_session_factory(self._engine))
        self.harness, self._application = await start_harness(runtime, self.clock)
        self._server = ConsoleServer(runtime.settings)
        await self._server.start(runtime)
        self.url = runtime.settings.console_url

    def stop(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                await self._server.stop()
            if self._application is not None:
                await self._application.shutdown()

        try:
            self.call(stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            if self._engine is not None:
                self._engine.dispose()

    def db(self) -> Any:
        assert self.harness is not None
        return self.harness.db()

    def link(self, phone: Phone) -> str:
        """What the bot answers when ``phone`` sends /web: the sign-in link."""
        found = LINK.search(self.call(link_for(phone)))
        assert found
        return found.group(0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
