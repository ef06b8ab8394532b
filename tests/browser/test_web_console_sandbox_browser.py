"""From the sandbox page to the staff web console, in a real browser: the admin's phone
sends /web, the link in the bot's answer opens the console in a new tab, and she is signed
in. The sandbox runs as ``python -m bot.cli sandbox``, as a user would start it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    STEP_TIMEOUT_MS,
    playwright_api,
)
from tests.browser.test_sandbox_browser import (  # noqa: F401  (the sandbox fixture)
    RunningSandbox,
    sandbox,
)

pytestmark = pytest.mark.browser


def test_the_admin_opens_the_console_from_her_phone(sandbox: RunningSandbox,  # noqa: F811
                                                    tmp_path: Path) -> None:
    expect, sync_playwright = playwright_api()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS, viewport={"width": 1560, "height": 960}, locale="en-GB")
        page = browser.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        try:
            page.goto(sandbox.url)
            console_link = page.locator("#console-link")
            expect(console_link).to_be_visible()
            console_url = console_link.get_attribute("href")
            assert console_url and console_url.startswith("http://127.0.0.1:")

            maria = page.locator('[data-phone="maria"]')
            maria.get_by_label("Message from Maria").fill("/web")
            maria.get_by_role("button", name="➤").click()
            link = maria.locator(f'.row.in .text a[href^="{console_url}/signin/"]')
            expect(link).to_have_count(1)
            with page.context.expect_page() as opened:
                link.click()
            console = opened.value
            console.set_default_timeout(STEP_TIMEOUT_MS)
            expect(console.get_by_text("You are signing in as Maria.")).to_be_visible()
            console.get_by_role("button", name="Sign in").click()
            expect(console.get_by_role("heading", level=1)).to_have_text("Welcome, Maria")
            console.get_by_role("link", name="Information sessions").first.click()
            expect(console.locator("main")).to_contain_text("Jobbtorg Kista")
            console.screenshot(path=str(ARTIFACTS / "console-from-sandbox.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "console-from-sandbox-failure.png"))
            raise
        finally:
            browser.close()
