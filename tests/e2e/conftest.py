"""End-to-end fixtures: the emulated Bot API served over HTTP on 127.0.0.1 in the test
process, a migrated SQLite file seeded through the project's services, and the real
bot started as a separate process (``python -m bot.cli run``) against both.

The bot runs on the system clock, so the seed uses real time. Waiting is always on
emulator state with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from bot.clock import SystemClock
from bot.db import make_engine, make_session_factory, unit_of_work
from bot.emulator import BotApiEmulator
from bot.emulator.server import serve
from bot.models import Role
from tests import factories
from tests.sandbox_support import free_port

ROOT = Path(__file__).resolve().parents[2]
STOCKHOLM = ZoneInfo("Europe/Stockholm")
# Generous for a loaded 2-core machine, but bounded: a hang fails the test.
STARTUP_TIMEOUT = 60.0
STEP_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0

T = TypeVar("T")

_BOT_LOG_KEY = pytest.StashKey[Path]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, show what the bot process wrote (its log goes to stderr)."""
    report = yield
    log = item.stash.get(_BOT_LOG_KEY, None)
    if report.failed and log is not None and log.exists():
        report.sections.append(("bot process output", log.read_text(errors="replace")))
    return report


@dataclass
class Seed:
    database_url: str
    centre_id: int
    coach_id: int
    coach_chat: int
    session_id: int
    invite_code: str


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    log: Path

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def stop(self, sig: int = signal.SIGINT, timeout: float = STOP_TIMEOUT) -> int:
        """Signal the bot and wait (bounded) for it to exit; returns its exit code."""
        if self.running:
            self.process.send_signal(sig)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(
                f"the bot did not exit within {timeout:.0f} s after signal {sig}"
            ) from None


class Driver:
    """Acts as Telegram users on the emulator and waits for the bot's answers."""

    def __init__(self, emulator: BotApiEmulator, bot: BotProcess) -> None:
        self.emulator = emulator
        self.bot = bot

    async def wait_for(self, what: str, probe: Callable[[], T | None],
                       timeout: float = STEP_TIMEOUT) -> T:
        """Poll ``probe`` on every emulator change until it returns something truthy
        (bounded); returns that."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if not self.bot.running:
                raise AssertionError(f"the bot exited ({self.bot.process.returncode}) "
                                     f"while waiting for {what}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; "
                                     f"the chats end with:\n{self.recent()}")
            # Capped, so a change that happened just before we started waiting is not missed.
            await self.emulator.wait_for_change(min(remaining, 0.5))

    def recent(self, per_chat: int = 3) -> str:
        """The last messages of every chat, for failure messages."""
        lines = []
        for chat_id, messages in self.emulator.messages.items():
            for message in messages[-per_chat:]:
                who = "bot" if message.get("from", {}).get("is_bot") else "user"
                buttons = [b.get("callback_data") for row in
                           message.get("reply_markup", {}).get("inline_keyboard", [])
                           for b in row]
                content = message.get("text") or sorted(set(message) - {"chat", "from"})
                lines.append(f"  chat {chat_id} {who}: {content!r} {buttons or ''}")
        failed = [f"{c.method} -> {c.status}" for c in self.emulator.calls if c.status != 200]
        if failed:
            lines.append(f"  failed Bot API calls: {', '.join(failed)}")
        return "\n".join(lines)

    def called(self, method: str) -> bool:
        return any(call.method == method for call in self.emulator.calls)

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return self.emulator.bot_messages(chat_id)

    def message_with_button(self, chat_id: int, match: Callable[[str], bool]
                            ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The newest bot message in the chat with an inline button whose data matches."""
        for message in reversed(self.bot_messages(chat_id)):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if match(button.get("callback_data", "")):
                        return message, button
        return None

    def press(self, chat_id: int, message: dict[str, Any], button: dict[str, Any]) -> None:
        self.emulator.user_presses(chat_id, message["message_id"], button["callback_data"])


@pytest.fixture
async def emulated_api() -> AsyncIterator[tuple[BotApiEmulator, str]]:
    """The emulated Bot API on 127.0.0.1 (a free port), served by this test's event loop."""
    emulator = BotApiEmulator()
    runner: web.AppRunner
    # By cleanup time the bot has exited; only its abandoned getUpdates long poll is left.
    runner, port = await serve(emulator, port=0, shutdown_timeout=1.0)
    yield emulator, f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
def seed(sqlite_url: str, emulated_api: tuple[BotApiEmulator, str]) -> Seed:
    """A job centre, its coach (an emulator user), an upcoming session and an invite."""
    emulator, _url = emulated_api
    coach_user = emulator.add_user("Karin", "sv")
    now = SystemClock().now()
    engine = make_engine(sqlite_url)
    try:
        with unit_of_work(make_session_factory(engine)) as db:
            centre = factories.centre(db, now)
            coach = factories.staff(db, now, Role.COACH, centre, name="Karin", language="sv",
                                    telegram_user_id=coach_user["id"])
            starts = _next_weekday_morning(now + timedelta(days=2))
            session = factories.session(db, now, centre, starts)
            invite = factories.aspirant_invite(db, now, centre, coach, session)
            seeded = Seed(sqlite_url, centre.id, coach.id, coach_user["id"], session.id,
                          invite.code)
    finally:
        engine.dispose()
    return seeded


def _next_weekday_morning(after: datetime) -> datetime:
    """09:30 in Stockholm on the first weekday on or after ``after``."""
    day = after.astimezone(STOCKHOLM)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(hour=9, minute=30, second=0, microsecond=0).astimezone(UTC)


async def launch_bot(emulator: BotApiEmulator, api_url: str, database_url: str, *,
                     cwd: Path, log: Path, module: str = "bot.cli",
                     args: tuple[str, ...] = ("run",), extra_env: dict[str, str] | None = None,
                     ready: str = "deleteWebhook") -> Driver:
    """Start the bot as a process (output appended to ``log``) and wait until it polls
    (or, with ``ready="setWebhook"``, until it has set its webhook)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("JOBBOT_")}
    env.update({
        "JOBBOT_TELEGRAM_TOKEN": emulator.token,
        "JOBBOT_TELEGRAM_API_URL": api_url,
        "JOBBOT_DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        # Each instance's web console on a port of its own.
        "JOBBOT_WEB_PORT": str(free_port()),
        **(extra_env or {}),
    })
    calls_before = len(emulator.calls)
    with log.open("ab") as output:
        # The working directory has no .env, so only the settings above apply.
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, *args,
            cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output,
        )
    driver = Driver(emulator, BotProcess(process, log))
    # deleteWebhook comes right before the first getUpdates of this run: updates sent from
    # now on are picked up by the long poll.
    # In webhook mode, setWebhook comes just before the webhook server listens: wait for
    # the port too before relying on it.
    await driver.wait_for(f"the bot to call {ready}", lambda: any(
        call.method == ready for call in emulator.calls[calls_before:]),
        STARTUP_TIMEOUT)
    return driver


@pytest.fixture
async def start_bot(request: pytest.FixtureRequest, tmp_path: Path,
                    emulated_api: tuple[BotApiEmulator, str], seed: Seed
                    ) -> AsyncIterator[Callable[[], Awaitable[Driver]]]:
    """Start the real bot as a process; returns a Driver once it polls for updates."""
    emulator, api_url = emulated_api
    started: list[BotProcess] = []

    async def start() -> Driver:
        log = tmp_path / "bot-output.log"
        request.node.stash[_BOT_LOG_KEY] = log
        driver = await launch_bot(emulator, api_url, seed.database_url, cwd=tmp_path, log=log)
        started.append(driver.bot)
        return driver

    yield start
    for bot in started:
        if bot.running:
            bot.process.kill()
            await bot.process.wait()
