"""``jobbot run`` serves the staff web console beside the bot: ready once the dispatcher
runs, a coach signs in with the link /web answers with, and a port already in use is one
line, not a traceback."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bot.emulator import BotApiEmulator
from tests.e2e.conftest import ROOT, STARTUP_TIMEOUT, Driver, Seed, launch_bot
from tests.sandbox_support import free_port

pytestmark = pytest.mark.e2e


async def _wait_ready(url: str, driver: Driver) -> dict:
    """Poll /readyz while the process starts (bounded): it listens, then the dispatcher's
    first run makes it ready."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last: object = None
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert driver.bot.running, driver.bot.output()
            try:
                async with http.get(f"{url}/readyz") as response:
                    last = await response.json()
                    if response.status == 200:
                        return last  # type: ignore[return-value]
            except aiohttp.ClientConnectionError as error:
                last = error
            await asyncio.sleep(0.2)  # the process is starting: nothing to wait on but it
    raise AssertionError(f"/readyz not ready within {STARTUP_TIMEOUT}s: {last}")


async def test_jobbot_run_serves_the_console(tmp_path: Path, seed: Seed,
                                             emulated_api: tuple[BotApiEmulator, str]) -> None:
    emulator, api_url = emulated_api
    port = free_port()
    log = tmp_path / "bot-output.log"
    driver = await launch_bot(emulator, api_url, seed.database_url, cwd=tmp_path, log=log,
                              extra_env={"JOBBOT_WEB_PORT": str(port)})
    url = f"http://127.0.0.1:{port}"
    try:
        ready = await _wait_ready(url, driver)
        assert ready["checks"] == {"database": "ok", "migrations": "ok", "dispatcher": "ok"}

        emulator.user_sends_text(seed.coach_chat, "/web")
        link = await driver.wait_for("the sign-in link", lambda: next(
            (m["text"] for m in emulator.bot_messages(seed.coach_chat)
             if "/signin/" in m.get("text", "")), None))
        token = re.search(r"/signin/([A-Za-z0-9_-]+)", link).group(1)  # type: ignore[union-attr]
        assert f"{url}/signin/{token}" in link
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
        async with aiohttp.ClientSession(cookie_jar=jar) as browser:
            async with browser.post(f"{url}/signin", data={"token": token},
                                    headers={"Origin": url}) as response:
                assert response.status == 200 and "/signout" in await response.text()
            async with browser.get(f"{url}/caseload") as response:
                assert response.status == 200
                assert "Karin" in await response.text()
            async with browser.get(f"{url}/metrics") as response:
                assert 'jobbot_updates_total{kind="command"}' in await response.text()
        assert await driver.bot.stop() == 0
    finally:
        if driver.bot.running:
            driver.bot.process.kill()
            await driver.bot.process.wait()
    output = log.read_text(errors="replace")
    assert "Traceback" not in output
    assert token not in output  # no access log: the link never reaches a log


async def test_a_busy_console_port_is_one_line(tmp_path: Path, seed: Seed,
                                               emulated_api: tuple[BotApiEmulator, str]) -> None:
    emulator, api_url = emulated_api
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {key: value for key, value in os.environ.items() if not key.startswith("JOBBOT_")}
        env.update({"JOBBOT_TELEGRAM_TOKEN": emulator.token, "JOBBOT_TELEGRAM_API_URL": api_url,
                    "JOBBOT_DATABASE_URL": seed.database_url, "JOBBOT_WEB_PORT": str(port),
                    "PYTHONPATH": str(ROOT)})
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(process.communicate(), STARTUP_TIMEOUT)
        finally:
            if process.returncode is None:
                process.kill()
    assert process.returncode == 1
    errors = err.decode()
    assert (f"jobbot: error: cannot serve the web console on 127.0.0.1:{port} "
            "(JOBBOT_WEB_LISTEN, JOBBOT_WEB_PORT): ") in errors
    assert "Traceback" not in errors + out.decode()
