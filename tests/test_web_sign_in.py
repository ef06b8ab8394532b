"""Signing in to the web console from the chat: /web answers staff with a one-time link
valid for ten minutes; the session lives in the database, can be listed and ended."""

from __future__ import annotations

from tests.reminder_support import cast
from tests.web_support import Browser, console, link_for  # noqa: F401  (fixture)


async def test_smoke(harness, console):  # noqa: F811
    people = cast(harness, ("Amina", "ar"))
    browser = await console.browser()
    await browser.sign_in(people.admin)
    assert "Maria" in browser.text
    for path in ("/", "/rules", "/sessions", "/caseload", "/figures", "/account"):
        await browser.get(path)
        assert browser.status == 200, (path, browser.text[:2000])
