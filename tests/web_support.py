"""The web console beside the offline bot: a browser-like client with a cookie jar that
signs in the way staff do, from the link the bot sends after /web.

The console runs in the test's event loop on the harness's runtime (its clock, its
database); the client is aiohttp's, talking HTTP to it on 127.0.0.1.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.db import head_revisions
from bot.web.app import make_app
from tests.harness import BotHarness, Phone

LINK = re.compile(r"https?://[^\s]+/signin/([A-Za-z0-9_-]+)")
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
_TOKEN = re.compile(r'name="token" value="([^"]+)"')


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

    async def browser(self) -> Browser:
        client = TestClient(self.server)
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
