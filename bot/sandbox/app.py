"""Start and stop everything the sandbox runs, in one process and one asyncio loop.

1. the emulated Bot API over HTTP on 127.0.0.1 (a free port);
2. the real bot (``build_application``: handlers, rate limiter, scheduler) polling it,
   with an ``OffsetClock`` as its clock and a fresh SQLite file, seeded;
3. the web page with the phones and the time control on the chosen port;
4. the staff web console (bot/web) on a free port, which the page links to: staff sign
   in by sending /web from their phone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import Engine
from telegram.ext import Application

from bot.app import build_application
from bot.clock import OffsetClock
from bot.db import make_engine, make_session_factory, unit_of_work, upgrade
from bot.emulator import BotApiEmulator
from bot.emulator.server import serve
from bot.errors import JobbotError
from bot.models import JobCentre, Role
from bot.runtime import Runtime
from bot.sandbox.seed import Seeded, seed
from bot.sandbox.timecontrol import TimeControl
from bot.sandbox.web import CheckInDesk, SandboxView, make_web_app
from bot.services.attendance import checkin_codes
from bot.services.attendance import policy as attendance_policy
from bot.settings import Settings
from bot.web.app import ConsoleServer

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
# The emulator accepts only this token; it is no secret and reaches no real Telegram.
TOKEN = "7000000001:sandbox-token-not-for-telegram"
BOT_USERNAME = "jobbot_sandbox_bot"
DATABASE_FILE = "sandbox.sqlite3"
CLOCK_FILE = "sandbox-time.txt"
# The phones' chats, so that --keep brings back the buttons of a half-finished step too.
CHATS_FILE = "sandbox-chats.json"
CHATS_SAVE_SECONDS = 5.0


class Sandbox:
    def __init__(self, settings: Settings, *, data_dir: Path, port: int = 8080,
                 keep: bool = False, start_at: datetime | None = None) -> None:
        self.base_settings = settings
        self.data_dir = data_dir
        self.port = port
        self.keep = keep
        self.start_at = start_at
        self.clock = OffsetClock()
        self.emulator: BotApiEmulator | None = None
        self.application: Application | None = None
        self.runtime: Runtime | None = None
        self.seeded: Seeded | None = None
        self.view: SandboxView | None = None
        self._runners: list[web.AppRunner] = []
        self._engine: Engine | None = None
        self._saver: asyncio.Task[None] | None = None
        self._saved_version: str | None = None
        self.console: ConsoleServer | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{(self.data_dir / DATABASE_FILE).resolve()}"

    async def start(self) -> None:
        # Everything that can be refused is checked before the data directory is touched.
        self._check_start_at()
        self._check_port()
        self._prepare_data_dir()
        await asyncio.to_thread(upgrade, self.database_url)
        self._set_clock()
        clock = self.clock
        self.emulator = BotApiEmulator(TOKEN, BOT_USERNAME,
                                       now=lambda: clock.now().timestamp())
        if self.keep:
            self._restore_chats(self.emulator)
        runner, api_port = await serve(self.emulator, HOST, 0, shutdown_timeout=0.5)
        self._runners.append(runner)
        console_port = _free_port()
        settings = self.base_settings.model_copy(update={
            "telegram_token": TOKEN,
            "telegram_api_url": f"http://{HOST}:{api_port}",
            "database_url": self.database_url,
            "bot_username": BOT_USERNAME,
            # /web answers with links to this console.
            "web_listen": HOST,
            "web_port": console_port,
            "web_public_url": f"http://{HOST}:{console_port}",
        })
        self._engine = make_engine(self.database_url)
        self.runtime = Runtime(settings=settings, clock=self.clock,
                               sessions=make_session_factory(self._engine))
        self.seeded, centre = self._seed(self.runtime)
        for phone in self.seeded.phones:
            self.emulator.add_user(phone.first_name, phone.language_code, phone.telegram_id)

        self.application = build_application(settings, runtime=self.runtime)
        await self._start_bot(self.application)
        self.console = ConsoleServer(settings)
        await self.console.start(self.runtime)
        control = TimeControl(self.application, self.clock, settings.zone,
                              on_change=self._save_clock)
        self.view = SandboxView(self.emulator, self.seeded.phones, control, settings.zone,
                                centre, checkin_desk(self.runtime, self.seeded.centre_id),
                                console_url=settings.console_url)
        await self._serve_page(self.view)
        self._greet_staff()
        self._saver = asyncio.create_task(self._save_chats_now_and_then(), name="save-chats")

    def _seed(self, runtime: Runtime) -> tuple[Seeded, dict[str, Any]]:
        with unit_of_work(runtime.sessions) as db:
            seeded = seed(db, self.clock.now())
            centre = db.get(JobCentre, seeded.centre_id)
            assert centre is not None
            return seeded, {"name": centre.name, "address": centre.address,
                            "latitude": centre.latitude, "longitude": centre.longitude}

    async def _serve_page(self, view: SandboxView) -> None:
        runner = web.AppRunner(make_web_app(view), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, HOST, self.port)
        try:
            await site.start()
        except OSError as error:
            raise JobbotError(f"cannot listen on {HOST}:{self.port}: {error.strerror}; "
                              "choose another port with --port") from None
        if self.port == 0:
            server = site._server
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _start_bot(self, application: Application) -> None:
        # What run_polling does, inside our own loop.
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0.0, timeout=10, allowed_updates=["message", "callback_query"])
        await application.start()

    def _greet_staff(self) -> None:
        """Staff open the bot once, so their phones show what they can do."""
        assert self.emulator is not None and self.seeded is not None
        for phone in self.seeded.phones:
            if phone.role != Role.ASPIRANT and not self.emulator.chat_log(phone.telegram_id):
                self.emulator.user_sends_text(phone.telegram_id, "/start")

    async def stop(self) -> None:
        saver, self._saver = self._saver, None
        if saver is not None:
            saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saver
        console, self.console = self.console, None
        if console is not None:
            await console.stop()
        application, self.application = self.application, None
        if application is not None:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()
        # After the bot has stopped: every message it sent is in the chats.
        self._save_chats()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    async def serve_until_stopped(self) -> None:
        """Run until Ctrl+C or SIGTERM, then stop cleanly."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # not on Windows
                loop.add_signal_handler(signum, stop.set)
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        print(f"jobbot sandbox: open {self.url} in a browser", flush=True)
        if self.console is not None:
            print(f"staff web console: {self.console.url} (send /web from a staff phone to "
                  "sign in)", flush=True)
        print("press Ctrl+C to stop", flush=True)
        try:
            await stop.wait()
        finally:
            print("stopping the sandbox", flush=True)
            await self.stop()

    def _check_port(self) -> None:
        """Fail before touching the data directory when the page's port is taken."""
        if self.port == 0:
            return
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, self.port))
            except OSError as error:
                raise JobbotError(f"cannot listen on {HOST}:{self.port}: {error.strerror}; "
                                  "choose another port with --port") from None

    # --- data directory and clock -------------------------------------------------------
    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.keep:
            return
        for name in (DATABASE_FILE, f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}-shm", CLOCK_FILE,
                     CHATS_FILE):
            (self.data_dir / name).unlink(missing_ok=True)

    def _check_start_at(self) -> None:
        """--start-at in the past is refused before anything is wiped."""
        if self.start_at is not None and self.start_at.astimezone(UTC) <= self.clock.now():
            raise JobbotError("--start-at must not be in the past: the sandbox clock only "
                              "moves forward (nothing was changed)")

    def _set_clock(self) -> None:
        """Start at --start-at, or where a kept sandbox's clock stopped, else now."""
        target = self.start_at
        saved = self.data_dir / CLOCK_FILE
        if target is None and self.keep and saved.is_file():
            with contextlib.suppress(ValueError):
                target = datetime.fromisoformat(saved.read_text().strip())
        if target is None:
            return
        ahead = target.astimezone(UTC) - self.clock.now()
        if ahead.total_seconds() > 0:
            self.clock.advance(ahead)

    def _save_clock(self, now: datetime) -> None:
        (self.data_dir / CLOCK_FILE).write_text(now.isoformat())

    # --- the chats ----------------------------------------------------------------------
    def _restore_chats(self, emulator: BotApiEmulator) -> None:
        saved = self.data_dir / CHATS_FILE
        if not saved.is_file():
            return
        try:
            emulator.restore(json.loads(saved.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError):
            log.warning("the saved chats could not be read; the phones start empty")

    def _save_chats(self) -> None:
        if self.emulator is None or self.view is None:
            return
        version = self.view.version()
        if version == self._saved_version:
            return
        target = self.data_dir / CHATS_FILE
        partial = target.with_suffix(".tmp")
        partial.write_text(json.dumps(self.emulator.snapshot()), encoding="utf-8")
        partial.replace(target)  # a crash mid-write leaves the previous chats
        self._saved_version = version

    async def _save_chats_now_and_then(self) -> None:
        """Also while running, so a killed sandbox keeps (nearly) all of its chats."""
        while True:
            await asyncio.sleep(CHATS_SAVE_SECONDS)
            try:
                self._save_chats()
            except OSError as error:
                log.warning("could not save the chats: %s", error.strerror)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def checkin_desk(runtime: Runtime, centre_id: int) -> CheckInDesk:
    """What the screen at the centre's door shows, at the sandbox's time."""

    def code() -> str:
        now = runtime.clock.now()
        with unit_of_work(runtime.sessions) as db:
            return checkin_codes.current_code(attendance_policy.policy_for(db, now, centre_id),
                                              now)

    return CheckInDesk(code=code,
                       start_parameter=lambda: checkin_codes.start_param(centre_id, code()))
