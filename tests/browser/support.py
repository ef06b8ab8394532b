"""What the browser tests share: where Chromium is and how it is started, where pictures
go, and a missing browser as a skip (a failure in CI, JOBBOT_REQUIRE_BROWSER=1)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
STEP_TIMEOUT_MS = 20_000  # one step of the bot or one move of the clock, on a loaded machine
REQUIRED = os.environ.get("JOBBOT_REQUIRE_BROWSER") == "1"


def missing(reason: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(reason)
    pytest.skip(reason)


def playwright_api() -> tuple[Any, Any]:
    """Playwright's ``expect`` and ``sync_playwright``, with Chromium there to drive and
    the pictures' folder made; a missing piece skips the test (fails it in CI)."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        missing("the python playwright package is not installed (pip install '.[browser]')")
    if not CHROMIUM.exists():
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    ARTIFACTS.mkdir(exist_ok=True)
    return expect, sync_playwright
