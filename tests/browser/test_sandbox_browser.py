"""``jobbot sandbox`` in a real browser: Chromium (the system's, /usr/bin/chromium) driven
by Playwright onboards the Arabic-speaking aspirant by clicking, moves the sandbox clock a
day, sees the information session reminder, checks in, and saves a screenshot to
test-artifacts/sandbox.png.

The sandbox runs as the command a user would type (``python -m bot.cli sandbox``), with
its clock started on a working morning so the seeded week is the same on any day.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date

from bot.i18n import translator
from bot.models import Audience, EventKind
from bot.presentation.keyboards import ASPIRANT_MENU, menu_label
from bot.sandbox.seed import SANDBOX
from bot.services.reminders.planner import default_text
from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    STEP_TIMEOUT_MS,
    playwright_api,
)
from tests.sandbox_support import free_port, working_morning

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60.0
_SIX_DIGITS = re.compile(r"^\d{6}$")
_CONFIRMED = re.compile(r"^✅ ")


@dataclass
class RunningSandbox:
    url: str
    start: datetime  # where its clock started (Stockholm time)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    port = free_port()
    start = working_morning()
    # Clean environment: the sandbox must not pick up a developer's bot settings.
    env = {key: value for key, value in os.environ.items() if not key.startswith("JOBBOT_")}
    log = tmp_path / "sandbox.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "sandbox", "--port", str(port),
             "--data-dir", str(tmp_path / "data"),
             "--start-at", start.strftime("%Y-%m-%dT%H:%M")],
            cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            _wait_until_up(process, url, log)
            yield RunningSandbox(url, start)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
    text = log.read_text(errors="replace")
    assert f"open {url}" in text and "press Ctrl+C to stop" in text
    assert code == 0, text[-3000:]


def _wait_until_up(process: subprocess.Popen[Any], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jobbot sandbox exited early:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}api/state", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)  # waiting for a process to start listening, not for the bot
    pytest.fail(f"jobbot sandbox did not answer within {STARTUP_TIMEOUT}s:\n"
                f"{log.read_text(errors='replace')}")


def test_aspirant_onboards_gets_the_reminder_and_checks_in(sandbox: RunningSandbox,
                                                           tmp_path: Path) -> None:
    expect, sync_playwright = playwright_api()

    ar = translator("ar")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS, viewport={"width": 1560, "height": 960}, locale="en-GB",
        )
        page = browser.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        try:
            page.goto(sandbox.url)
            # The tab has an icon (no 404 in the browser's console).
            icon = page.request.get(f"{sandbox.url}favicon.ico")
            assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
            amina = page.locator('[data-phone="amina"]')
            expect(amina).to_have_attribute("dir", "rtl")
            clock = page.locator("#now")
            expect(clock).to_have_text(_shown(sandbox.start))
            # Every phone of the cast is on the page; staff have been greeted by the bot.
            for actor in SANDBOX.actors:
                expect(page.locator(f'[data-phone="{actor.key}"]')).to_contain_text(
                    actor.first_name)
            expect(page.locator('[data-phone="maria"] .row.in')).to_contain_text(
                "What you can do")

            # --- onboarding, by clicking -------------------------------------------------
            amina.get_by_role("button", name="Open invite link").click()
            # Opening the link shows as Telegram's Start, not as the invite code it carries.
            expect(amina.locator(".row.out .text").first).to_have_text("Start")
            amina.get_by_role("button", name="✓ العربية").click()
            consent = amina.locator(".row.in", has=page.get_by_role("button",
                                                                     name=ar._("I agree")))
            expect(consent).to_be_visible()
            # The Arabic consent text is laid out right to left.
            assert consent.locator(".text").evaluate(
                "e => getComputedStyle(e).direction") == "rtl"
            consent.get_by_role("button", name=ar._("I agree")).click()
            amina.get_by_role("button", name=ar._("I'll come")).click()
            expect(amina.locator(".row.in .text").last).to_contain_text(
                _before_first_placeholder(ar._("What would you like to do? Use the menu below.")))
            # The session's place came as a map location, and the menu as a reply keyboard.
            expect(amina.locator("a.location").first).to_have_attribute(
                "href", f"https://www.openstreetmap.org/?mlat={SANDBOX.latitude}"
                        f"&mlon={SANDBOX.longitude}#map=17/{SANDBOX.latitude}/{SANDBOX.longitude}")
            expect(amina.locator(".reply-key")).to_have_count(len(ASPIRANT_MENU))
            expect(page.locator('[data-phone="johan"]')).to_contain_text("Amina")
            page.screenshot(path=str(ARTIFACTS / "sandbox-onboarded.png"))

            # --- a day later: the information session reminder ---------------------------
            reminder = _before_first_placeholder(
                ar._(default_text(EventKind.INFO_SESSION, Audience.ASPIRANT, "before")))
            expect(amina.get_by_text(reminder)).to_have_count(0)
            page.get_by_role("button", name="+1 day").click()
            expect(clock).to_have_text(_shown(sandbox.start + timedelta(days=1)))
            expect(amina.locator(".row.in .text", has_text=reminder).first).to_be_visible()

            # --- at 10:00 the information session starts: scan the QR code at the door; ---
            # it records the intake (the daily check-in starts the day after it).
            page.get_by_role("button", name="+1 hour").click()
            expect(clock).to_have_text(_shown(sandbox.start + timedelta(days=1, hours=1)))
            page.get_by_role("button", name="+1 hour").click()
            expect(clock).to_have_text(_shown(sandbox.start + timedelta(days=1, hours=2)))
            expect(page.locator("#checkin-code")).to_have_text(_SIX_DIGITS)
            amina.get_by_role("button", name="Scan check-in QR").click()
            # Every way of being checked in is confirmed with a tick first.
            expect(amina.locator(".row.in .text").last).to_have_text(_CONFIRMED)

            # The reply keyboard works too: the menu's "my schedule" gets an answer.
            schedule = menu_label(ar, *next((emoji, label) for action, emoji, label
                                            in ASPIRANT_MENU if action == "schedule"))
            answers = amina.locator(".row.in").count()
            amina.locator(".reply-key", has_text=schedule).click()
            expect(amina.locator(".row.out .text").last).to_have_text(schedule)
            expect(amina.locator(".row.in").nth(answers)).to_be_visible()

            page.screenshot(path=str(ARTIFACTS / "sandbox.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "sandbox-failure.png"))
            raise
        finally:
            browser.close()


def _shown(moment: datetime) -> re.Pattern[str]:
    """The page's clock at ``moment``, give or take the minutes the test itself takes."""
    day = format_date(moment, "EEEE d MMMM y", locale="en")
    return re.compile(rf"^{day}, {moment:%H}:\d\d$")


def _before_first_placeholder(text: str) -> str:
    """The fixed start of a translated message, up to its first placeholder."""
    head = text.split("{", 1)[0].strip()
    assert len(head) >= 4, text
    return head
