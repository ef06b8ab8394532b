"""The sandbox's web page: phones side by side, acting as users of the emulated Bot API.

The page talks only to this server (same origin, no CDN): it reads the chats from
the emulator in process, long-polls ``/api/state`` for changes, and sends the
users' actions (text, button presses, shared locations) as emulated updates that
the real bot then fetches with ``getUpdates`` like from Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_date, format_datetime, format_time

from bot.emulator import BotApiEmulator
from bot.i18n import LANGUAGES, RIGHT_TO_LEFT, supported_language
from bot.sandbox.seed import Phone
from bot.sandbox.timecontrol import TimeControl
from bot.services.people import invites
from bot.web.packaged import packaged_file

log = logging.getLogger(__name__)

LONG_POLL = 20.0  # seconds a page's /api/state request may wait for a change
TICK_SECONDS = 10
TIME_MOVES = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
MORNING = time(9, 0)
_STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                 ".ico": "image/x-icon"}
START_WITH_PAYLOAD = re.compile(r"^/start(@\w+)? +\S")
START_LABEL = "Start"


@dataclass
class CheckInDesk:
    """The centre's current check-in code, and the deep-link parameter its QR code carries."""

    code: Callable[[], str]
    start_parameter: Callable[[], str]


@dataclass
class SandboxView:
    emulator: BotApiEmulator
    phones: list[Phone]
    time_control: TimeControl
    zone: ZoneInfo
    centre: dict[str, Any]
    checkin: CheckInDesk | None = None
    # The staff web console the page links to (staff sign in with /web from their phone).
    console_url: str | None = None
    # callback query id -> phone key, to show each toast on the phone that pressed
    _pressed_by: dict[str, str] = field(default_factory=dict, init=False)
    _scanned_calls: int = field(default=0, init=False)
    _bot_changes: int = field(default=0, init=False)

    def phone(self, key: str) -> Phone:
        for phone in self.phones:
            if phone.key == key:
                return phone
        raise web.HTTPNotFound(text="no such phone")

    @property
    def bot_username(self) -> str:
        return str(self.emulator.bot_user["username"])

    def version(self) -> str:
        """Changes whenever anything on the page would change (the bot's long polls aside)."""
        calls = self.emulator.calls
        for call in calls[self._scanned_calls:]:
            if call.method != "getUpdates":
                self._bot_changes += 1
        self._scanned_calls = len(calls)
        user_messages = sum(len(chat) for chat in self.emulator.messages.values())
        # Sandbox time in ticks: the page's clock and the rotating check-in code stay fresh.
        tick = int(self.time_control.now().timestamp()) // TICK_SECONDS
        return f"{self._bot_changes}.{user_messages}.{tick}"

    async def wait_for_change(self, since: str, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # Short waits: a clock move changes the version without waking the emulator.
        while self.version() == since and (remaining := deadline - loop.time()) > 0:
            await self.emulator.wait_for_change(min(1.0, remaining))

    async def state(self) -> dict[str, Any]:
        now = self.time_control.now()
        checkin = None
        if self.checkin is not None:
            checkin = {"code": self.checkin.code()}
        return {
            "version": self.version(),
            "now": {"iso": now.isoformat(),
                    "label": format_datetime(now, "EEEE d MMMM y, HH:mm", tzinfo=self.zone,
                                             locale="en")},
            "zone": self.zone.key,
            "centre": self.centre,
            "checkin": checkin,
            "console_url": self.console_url,
            "phones": [self._phone_state(phone) for phone in self.phones],
        }

    def _phone_state(self, phone: Phone) -> dict[str, Any]:
        markup = self.emulator.reply_keyboards.get(phone.telegram_id)
        language = supported_language(phone.language_code) or "en"
        return {
            "key": phone.key,
            "name": phone.first_name,
            "role": phone.role.value,
            "language": language,
            "language_name": LANGUAGES[language],
            "dir": "rtl" if language in RIGHT_TO_LEFT else "ltr",
            "invite_link": (invites.deep_link(self.bot_username, phone.invite_code)
                            if phone.invite_code else None),
            "messages": [self._message(m) for m in self.emulator.chat_log(phone.telegram_id)],
            "keyboard": markup["keyboard"] if markup else None,
            "toasts": [
                {"n": n, "text": answer.get("text"), "alert": bool(answer.get("show_alert"))}
                for n, answer in enumerate(self.emulator.callback_answers)
                if answer.get("text")
                and self._pressed_by.get(str(answer.get("callback_query_id"))) == phone.key
            ],
        }

    def _message(self, message: dict[str, Any]) -> dict[str, Any]:
        moment = datetime.fromtimestamp(message["date"], tz=self.zone)
        view: dict[str, Any] = {
            "id": message["message_id"],
            "bot": bool(message.get("from", {}).get("is_bot")),
            "time": format_time(moment, "HH:mm", locale="en"),
            "day": format_date(moment, "EEEE d MMMM", locale="en"),
            "edited": "edit_date" in message,
        }
        for key in ("text", "caption", "document", "location", "venue", "reply_markup"):
            if key in message:
                view[key] = message[key]
        if not view["bot"] and START_WITH_PAYLOAD.match(view.get("text", "")):
            # Opening a link (an invite, the check-in QR code) is the Start button in
            # Telegram; the code it carries is not shown in the chat.
            view["text"] = START_LABEL
        if message.get("photo"):
            view["photo"] = message["photo"][-1]["file_id"]
        return view

    # --- the users' actions ---------------------------------------------------------
    def send_text(self, key: str, text: str) -> None:
        self.emulator.user_sends_text(self.phone(key).telegram_id, text)

    def press(self, key: str, message_id: int, data: str) -> None:
        update = self.emulator.user_presses(self.phone(key).telegram_id, message_id, data)
        self._pressed_by[update["callback_query"]["id"]] = key

    def share_location(self, key: str, latitude: float, longitude: float) -> None:
        self.emulator.user_shares_location(self.phone(key).telegram_id, latitude, longitude)


def make_web_app(view: SandboxView) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    routes = _Routes(view)
    app.router.add_get("/", routes.index)
    app.router.add_get("/static/{name}", routes.static)
    app.router.add_get("/favicon.ico", routes.favicon)
    app.router.add_get("/files/{file_id}", routes.file)
    app.router.add_get("/api/state", routes.state)
    app.router.add_post("/api/phones/{key}/text", routes.text)
    app.router.add_post("/api/phones/{key}/press", routes.press)
    app.router.add_post("/api/phones/{key}/location", routes.location)
    app.router.add_post("/api/phones/{key}/invite", routes.open_invite)
    app.router.add_post("/api/phones/{key}/checkin", routes.scan_checkin)
    app.router.add_post("/api/time", routes.move_time)
    return app


class _Routes:
    def __init__(self, view: SandboxView) -> None:
        self.view = view

    async def index(self, request: web.Request) -> web.Response:
        return _static_file("index.html")

    async def favicon(self, request: web.Request) -> web.Response:
        return _static_file("favicon.ico")

    async def static(self, request: web.Request) -> web.Response:
        return _static_file(request.match_info["name"])

    async def file(self, request: web.Request) -> web.Response:
        stored = self.view.emulator.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        name, content, mime = stored
        response = web.Response(body=content, content_type=mime)
        if not mime.startswith("image/"):
            # Documents (.ics, .csv) download under the name the bot gave them.
            safe = "".join(c for c in name if c.isalnum() or c in "._-") or "file"
            response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
        return response

    async def state(self, request: web.Request) -> web.Response:
        since = request.query.get("since")
        if since:
            await self.view.wait_for_change(since, LONG_POLL)
        return web.json_response(await self.view.state())

    async def text(self, request: web.Request) -> web.Response:
        body = await _json(request)
        text = str(body.get("text", "")).strip()
        if not text or len(text) > 4096:
            raise web.HTTPBadRequest(text="text must be 1 to 4096 characters")
        self.view.send_text(request.match_info["key"], text)
        return _ok()

    async def press(self, request: web.Request) -> web.Response:
        body = await _json(request)
        try:
            self.view.press(request.match_info["key"], int(body["message_id"]),
                            str(body["data"]))
        except (KeyError, ValueError, TypeError):
            raise web.HTTPBadRequest(text="no such button") from None
        return _ok()

    async def location(self, request: web.Request) -> web.Response:
        body = await _json(request)
        centre = self.view.centre
        try:
            latitude = float(body.get("latitude", centre["latitude"]))
            longitude = float(body.get("longitude", centre["longitude"]))
        except (TypeError, ValueError):
            raise web.HTTPBadRequest(text="bad coordinates") from None
        self.view.share_location(request.match_info["key"], latitude, longitude)
        return _ok()

    async def open_invite(self, request: web.Request) -> web.Response:
        phone = self.view.phone(request.match_info["key"])
        if phone.invite_code is None:
            raise web.HTTPBadRequest(text="this phone has no invite link")
        # What Telegram sends when someone opens t.me/<bot>?start=<code>.
        self.view.send_text(phone.key, f"/start {phone.invite_code}")
        return _ok()

    async def scan_checkin(self, request: web.Request) -> web.Response:
        phone = self.view.phone(request.match_info["key"])
        if self.view.checkin is None:
            raise web.HTTPBadRequest(text="no check-in QR code to scan")
        parameter = self.view.checkin.start_parameter()
        # The QR code at the venue is a deep link; scanning it sends /start <parameter>.
        self.view.send_text(phone.key, f"/start {parameter}")
        return _ok()

    async def move_time(self, request: web.Request) -> web.Response:
        body = await _json(request)
        move = body.get("move")
        control = self.view.time_control
        if move in TIME_MOVES:
            await control.advance(TIME_MOVES[move])
        elif move == "morning":
            await control.advance_to_next(MORNING)
        else:
            raise web.HTTPBadRequest(text="move must be hour, day or morning")
        return web.json_response(await self.view.state())


async def _json(request: web.Request) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        body = await request.json()
        if isinstance(body, dict):
            return body
    raise web.HTTPBadRequest(text="expected a JSON object")


def _ok() -> web.Response:
    return web.json_response({"ok": True})


def _static_file(name: str) -> web.Response:
    return packaged_file("bot.sandbox", name, _STATIC_TYPES, cache_control="no-store")
