"""State and method answers of the emulated Bot API.

Updates reach the bot by getUpdates or, once the bot has called setWebhook, as
JSON posts to its webhook, as with Telegram (getUpdates then answers 409). Tests
can stand in for a load balancer with ``webhook_targets``; every post is recorded
in ``webhook_attempts``.

Faults, for sending methods: ``inject(Fault(...))`` answers the next calls with an
error; ``storm`` answers a share of them 429 at random; ``rate_limit`` plays Telegram's
flood control (at most 30 messages in any rolling second, more are answered 429), and
one ``RollingLimit`` can serve several emulators, as one Telegram serves every
instance of a bot; ``outage`` answers every send with a server error or a timeout
until cleared.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp

JSON_FIELDS = frozenset(
    {"reply_markup", "entities", "caption_entities", "allowed_updates", "commands", "scope",
     "media", "link_preview_options", "reply_parameters"}
)
INT_FIELDS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "timeout", "retry_after", "cache_time",
     "reply_to_message_id", "live_period", "user_id"}
)
FLOAT_FIELDS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
BOOL_FIELDS = frozenset({"show_alert", "disable_notification", "protect_content",
                         "drop_pending_updates", "disable_web_page_preview"})
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes, str]]
    status: int = 200
    at: float = field(default_factory=time.monotonic)
    # Telegram's description of a refusal (e.g. "Bad Request: message is not modified").
    error: str = ""


@dataclass
class Fault:
    """An error to answer instead of the real result, ``times`` times."""

    kind: str  # "429", "5xx", "400", "403", "timeout"
    method: str | None = None  # None: any sending method
    times: int = 1
    retry_after: int = 1
    delay: float = 0.0  # for "timeout" over HTTP: how long to stall


class RollingLimit:
    """Telegram's flood control: at most ``per_second`` messages in any rolling ``window``
    seconds; more are answered 429 with ``retry_after``. Thread-safe, so several emulators
    (several bot instances, each with its own) can share one."""

    def __init__(self, per_second: int = 30, *, window: float = 1.0, retry_after: int = 1,
                 clock: Any = time.monotonic) -> None:
        self.per_second = per_second
        self.window = window
        self.retry_after = retry_after
        self.clock = clock
        self.accepted = 0
        self.refused = 0
        # The most messages accepted within one window.
        self.peak = 0
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            now = self.clock()
            while self._times and self._times[0] <= now - self.window:
                self._times.popleft()
            if len(self._times) >= self.per_second:
                self.refused += 1
                return False
            self._times.append(now)
            self.accepted += 1
            self.peak = max(self.peak, len(self._times))
            return True

    @property
    def refused_share(self) -> float:
        total = self.accepted + self.refused
        return self.refused / total if total else 0.0

    def stats(self) -> dict[str, Any]:
        return {"per_second": self.per_second, "window": self.window,
                "accepted": self.accepted, "refused": self.refused, "peak": self.peak}


class Storm:
    """A share of sends answered 429 at random (Telegram under load), repeatable by seed."""

    def __init__(self, probability: float = 0.5, *, retry_after: int = 1, seed: int = 0) -> None:
        self.probability = probability
        self.retry_after = retry_after
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.struck = 0

    def strikes(self) -> bool:
        with self._lock:
            hit = self._random.random() < self.probability
            self.struck += hit
            return hit


@dataclass
class Webhook:
    """The webhook the bot set: Telegram posts every update there instead of queueing it."""

    url: str
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class DeliveryAttempt:
    """One post of an update to a webhook target, and how it went."""

    update_id: int
    target: str
    status: int | None  # None: no HTTP answer (refused, timed out)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status,
                                "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class EmulatedTimeout(Exception):
    def __init__(self, delay: float) -> None:
        super().__init__("emulated timeout")
        self.delay = delay


SENDING_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "sendLocation", "sendVenue",
     "editMessageText", "editMessageReplyMarkup", "sendChatAction"}
)


class BotApiEmulator:
    """One bot, any number of private chats with emulated users."""

    def __init__(self, token: str = "123456:emulated", bot_username: str = "jobbot_test_bot",
                 *, now: Any = None) -> None:
        self.token = token
        self.bot_user = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Jobbot",
                         "username": bot_username, "can_join_groups": False,
                         "can_read_all_group_messages": False, "supports_inline_queries": False}
        self._now = now or time.time
        self.users: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, list[dict[str, Any]]] = {}
        self.reply_keyboards: dict[int, dict[str, Any] | None] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, tuple[str, bytes, str]] = {}
        self.blocked: set[int] = set()
        self.calls: list[ApiCall] = []
        self.faults: deque[Fault] = deque()
        self.storm: Storm | None = None
        self.rate_limit: RollingLimit | None = None
        # "5xx" or "timeout": every send fails so until cleared (None).
        self.outage: str | None = None
        self.outage_delay = 0.0
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._user_ids = itertools.count(100001)
        self._callback_ids = itertools.count(1)
        self._changed = asyncio.Condition() if _has_loop() else None
        self.webhook_deleted = False
        self.webhook: Webhook | None = None
        # The test's load balancer: when set, webhook posts go to these URLs in turn instead
        # of the URL the bot registered (a public address that does not exist in a test).
        self.webhook_targets: list[str] | None = None
        self.webhook_attempts: list[DeliveryAttempt] = []
        # Telegram retries a failed post; so does the emulator, a few times, then waits for
        # the next update (or setWebhook) to try again, keeping the order.
        self.webhook_retries = 4
        self.webhook_retry_delay = 0.2
        self.webhook_timeout = 10.0
        self._webhook_pending: deque[dict[str, Any]] = deque()
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_turn = itertools.count()

    # --- the user's side ---------------------------------------------------------------
    def add_user(self, first_name: str, language_code: str | None = None,
                 user_id: int | None = None, last_name: str | None = None) -> dict[str, Any]:
        uid = user_id or next(self._user_ids)
        user: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if language_code:
            user["language_code"] = language_code
        self.users[uid] = user
        self.messages.setdefault(uid, [])
        return user

    def user_sends_text(self, user_id: int, text: str) -> dict[str, Any]:
        message = self._user_message(user_id, text=text)
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(command.encode("utf-16-le")) // 2}]
        return self._push({"message": message})

    def user_shares_location(self, user_id: int, latitude: float, longitude: float,
                             live_period: int | None = None) -> dict[str, Any]:
        """A location pin, or with ``live_period`` (seconds) a live location."""
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if live_period is not None:
            location["live_period"] = live_period
        message = self._user_message(user_id, location=location)
        return self._push({"message": message})

    def user_sends(self, user_id: int, **content: Any) -> dict[str, Any]:
        """Any message content (a photo, a sticker, a contact, a caption…), as Telegram
        would deliver it."""
        return self._push({"message": self._user_message(user_id, **content)})

    def user_edits(self, user_id: int, message_id: int, **content: Any) -> dict[str, Any]:
        """The user edits one of their messages (or a live location moves)."""
        original = self.find_message(user_id, message_id)
        if original is None:
            raise KeyError(f"no message {message_id} in chat {user_id}")
        edited = {**original, **content, "edit_date": int(self._now())}
        return self._push({"edited_message": edited})

    def group_message(self, user_id: int, group_id: int, **content: Any) -> dict[str, Any]:
        """A message from a user in a group the bot is in."""
        message = {"message_id": self._next_message_id(group_id), "date": int(self._now()),
                   "chat": {"id": group_id, "type": "group", "title": "Group"},
                   "from": self.users[user_id], **content}
        return self._push({"message": message})

    def channel_post(self, channel_id: int, **content: Any) -> dict[str, Any]:
        post = {"message_id": self._next_message_id(channel_id), "date": int(self._now()),
                "chat": {"id": channel_id, "type": "channel", "title": "Channel"}, **content}
        return self._push({"channel_post": post})

    def inline_query(self, user_id: int, query: str) -> dict[str, Any]:
        return self._push({"inline_query": {"id": str(next(self._callback_ids)),
                                            "from": self.users[user_id], "query": query,
                                            "offset": ""}})

    def inline_button_press(self, user_id: int, data: str) -> dict[str, Any]:
        """A press on a button of an inline-mode message: no message, no chat."""
        query = {"id": str(next(self._callback_ids)), "from": self.users[user_id],
                 "chat_instance": "inline", "inline_message_id": "AAAA", "data": data}
        return self._push({"callback_query": query})

    def membership_changes(self, user_id: int, status: str) -> dict[str, Any]:
        """The user blocks ("kicked") or unblocks ("member") the bot in their chat."""
        old = "member" if status == "kicked" else "kicked"
        def member_as(state: str) -> dict[str, Any]:
            return {"status": state, "user": self.bot_user,
                    **({"until_date": 0} if state == "kicked" else {})}

        member = {"chat": self._chat(user_id), "from": self.users[user_id],
                  "date": int(self._now()), "old_chat_member": member_as(old),
                  "new_chat_member": member_as(status)}
        return self._push({"my_chat_member": member})

    def user_presses(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        message = self.find_message(user_id, message_id)
        if message is None:
            raise KeyError(f"no message {message_id} in chat {user_id}")
        query = {"id": str(next(self._callback_ids)), "from": self.users[user_id],
                 "chat_instance": str(user_id), "message": message, "data": data}
        return self._push({"callback_query": query})

    def user_blocks_bot(self, user_id: int) -> None:
        self.blocked.add(user_id)

    def _user_message(self, user_id: int, **content: Any) -> dict[str, Any]:
        user = self.users[user_id]
        message = {"message_id": self._next_message_id(user_id), "date": int(self._now()),
                   "chat": self._chat(user_id), "from": user, **content}
        self.messages[user_id].append(message)
        return message

    def _push(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **payload}
        if self.webhook is not None:
            self._webhook_pending.append(update)
            self._start_delivery()
        else:
            self._updates.append(update)
        self._notify()
        return update

    # --- webhook delivery ---------------------------------------------------------------
    def _start_delivery(self) -> None:
        """Post pending updates from the running event loop (one at a time, in order)."""
        if self._webhook_task is not None and not self._webhook_task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: the next update or setWebhook from within one starts it
        self._webhook_task = loop.create_task(self._deliver_pending(), name="webhook-delivery")

    async def _deliver_pending(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while self._webhook_pending and self.webhook is not None:
                update = self._webhook_pending[0]
                if not await self._post_with_retries(http, self.webhook, update):
                    return  # left at the head of the queue; the next push retries it
                if self._webhook_pending and self._webhook_pending[0] is update:
                    self._webhook_pending.popleft()

    async def _post_with_retries(self, http: aiohttp.ClientSession, webhook: Webhook,
                                 update: dict[str, Any]) -> bool:
        if webhook.allowed_updates and not set(update) & set(webhook.allowed_updates):
            return True  # the bot did not ask for this kind of update
        headers = {SECRET_HEADER: webhook.secret_token} if webhook.secret_token else {}
        for attempt in range(self.webhook_retries + 1):
            if attempt:
                await asyncio.sleep(self.webhook_retry_delay)
            target = self._next_target(webhook)
            record = DeliveryAttempt(update["update_id"], target, None)
            self.webhook_attempts.append(record)
            try:
                async with http.post(target, json=update, headers=headers) as response:
                    record.status = response.status
                    await response.read()
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                record.error = type(error).__name__
            self._notify()
            if record.ok:
                return True
            webhook.last_error_date = int(self._now())
            webhook.last_error_message = (f"Wrong response from the webhook: {record.status}"
                                          if record.status is not None else
                                          f"Connection failed: {record.error}")
        return False

    def _next_target(self, webhook: Webhook) -> str:
        targets = self.webhook_targets
        if not targets:
            return webhook.url
        return targets[next(self._webhook_turn) % len(targets)]

    @property
    def delivering(self) -> bool:
        """Posts are under way (or waiting to be retried)."""
        return self._webhook_task is not None and not self._webhook_task.done()

    def deliveries(self) -> dict[int, str]:
        """Which target took each update (its post answered 2xx)."""
        return {a.update_id: a.target for a in self.webhook_attempts if a.ok}

    async def stop_delivery(self) -> None:
        """Stop posting (the server's cleanup); undelivered updates stay pending."""
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- what tests and the sandbox read ----------------------------------------------
    def chat_log(self, chat_id: int) -> list[dict[str, Any]]:
        return list(self.messages.get(chat_id, []))

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages.get(chat_id, []) if m.get("from", {}).get("is_bot")]

    def find_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        for message in self.messages.get(chat_id, []):
            if message["message_id"] == message_id:
                return message
        return None

    # --- keeping the chats across restarts (the sandbox's --keep) -----------------------
    def snapshot(self) -> dict[str, Any]:
        """The chats as JSON-safe data: messages (with their buttons), reply keyboards,
        command menus and the files they show."""
        return {
            "messages": {str(chat): chat_messages
                         for chat, chat_messages in self.messages.items()},
            "reply_keyboards": {str(chat): markup
                                for chat, markup in self.reply_keyboards.items()},
            "commands": self.commands,
            "files": {file_id: [name, base64.b64encode(content).decode("ascii"), mime]
                      for file_id, (name, content, mime) in self.files.items()},
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Bring back the chats of ``snapshot()``; new messages continue their numbering."""
        for chat, chat_messages in snapshot.get("messages", {}).items():
            chat_id = int(chat)
            self.messages[chat_id] = list(chat_messages)
            last = max((m["message_id"] for m in chat_messages), default=0)
            self._message_ids[chat_id] = itertools.count(last + 1)
        for chat, markup in snapshot.get("reply_keyboards", {}).items():
            self.reply_keyboards[int(chat)] = markup
        self.commands.update(snapshot.get("commands", {}))
        for file_id, (name, content, mime) in snapshot.get("files", {}).items():
            self.files[file_id] = (name, base64.b64decode(content), mime)
        self._notify()

    def inject(self, fault: Fault) -> None:
        self.faults.append(fault)

    def pending_updates(self) -> int:
        return len(self._updates) + len(self._webhook_pending)

    # --- the bot's side ------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any],
             files: dict[str, tuple[str, bytes, str]] | None = None) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call; raises EmulatedTimeout for an injected timeout."""
        params = {key: _coerce(key, value) for key, value in params.items()}
        files = files or {}
        record = ApiCall(method, params, files)
        self.calls.append(record)
        try:
            self._apply_fault(method)
            result = self._dispatch(method, params, files)
        except ApiError as error:
            record.status = error.status
            record.error = error.description
            return error.status, error.body()
        self._notify()
        return 200, {"ok": True, "result": result}

    def check_polling_allowed(self) -> None:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")

    async def get_updates(self, offset: int | None, timeout: float, limit: int = 100
                          ) -> list[dict[str, Any]]:
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + max(0.0, timeout)
        while not self._updates and time.monotonic() < deadline:
            await self._wait(deadline - time.monotonic())
        return self._updates[:limit]

    async def wait_for_change(self, timeout: float) -> None:
        await self._wait(timeout)

    async def _wait(self, timeout: float) -> None:
        if self._changed is None:
            self._changed = asyncio.Condition()
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=max(0.01, timeout))

    def _notify(self) -> None:
        if self._changed is None:
            return
        condition = self._changed

        async def _wake() -> None:
            async with condition:
                condition.notify_all()

        with contextlib.suppress(RuntimeError):  # no loop running: nobody is waiting
            asyncio.get_running_loop().create_task(_wake())

    def _apply_fault(self, method: str) -> None:
        if method in SENDING_METHODS:
            if self.outage == "5xx":
                raise ApiError(502, "Bad Gateway")
            if self.outage == "timeout":
                raise EmulatedTimeout(self.outage_delay)
        for fault in list(self.faults):
            if fault.method == method or (fault.method is None and method in SENDING_METHODS):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                if fault.kind == "429":
                    raise ApiError(429, f"Too Many Requests: retry after {fault.retry_after}",
                                   retry_after=fault.retry_after)
                if fault.kind == "5xx":
                    raise ApiError(502, "Bad Gateway")
                if fault.kind == "400":
                    raise ApiError(400, "Bad Request: can't parse entities")
                if fault.kind == "403":
                    raise ApiError(403, "Forbidden: bot was blocked by the user")
                if fault.kind == "timeout":
                    raise EmulatedTimeout(fault.delay)
                raise ValueError(f"unknown fault kind {fault.kind!r}")
        if method not in SENDING_METHODS:
            return
        if self.storm is not None and self.storm.strikes():
            raise ApiError(429, f"Too Many Requests: retry after {self.storm.retry_after}",
                           retry_after=self.storm.retry_after)
        limit = self.rate_limit
        if limit is not None and not limit.admit():
            raise ApiError(429, f"Too Many Requests: retry after {limit.retry_after}",
                           retry_after=limit.retry_after)

    def stats(self) -> dict[str, Any]:
        """Calls by method and status, and the flood control's counts."""
        by_status: dict[str, dict[str, int]] = {}
        for call in self.calls:
            counts = by_status.setdefault(call.method, {})
            counts[str(call.status)] = counts.get(str(call.status), 0) + 1
        return {"calls": by_status,
                "limit": self.rate_limit.stats() if self.rate_limit is not None else None,
                "storm": self.storm.struck if self.storm is not None else None}

    def _dispatch(self, method: str, params: dict[str, Any],
                  files: dict[str, tuple[str, bytes, str]]) -> Any:
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            raise ApiError(404, f"Not Found: method {method} is not emulated")
        return handler(params, files)

    # --- methods --------------------------------------------------------------------
    def _m_getMe(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return self.bot_user

    def _m_deleteWebhook(self, params: dict[str, Any], files: Any) -> bool:
        self.webhook_deleted = True
        self.webhook = None
        # What was waiting for the webhook is now for getUpdates.
        self._updates.extend(self._webhook_pending)
        self._webhook_pending.clear()
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_setWebhook(self, params: dict[str, Any], files: Any) -> bool:
        url = str(params.get("url") or "").strip()
        if not url:
            return self._m_deleteWebhook(params, files)  # Telegram: an empty URL removes it
        if not url.startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for "
                                "webhook")
        secret = params.get("secret_token")
        if secret is not None and not WEBHOOK_SECRET.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if self.webhook is not None and self.webhook.url == url:
            self.webhook.secret_token = secret
            self.webhook.allowed_updates = allowed or None
        else:
            self.webhook = Webhook(url, secret, allowed or None)
        # Updates queued for getUpdates now go to the webhook, unless dropped.
        self._webhook_pending.extend(self._updates)
        self._updates.clear()
        if params.get("drop_pending_updates"):
            self._webhook_pending.clear()
        self._start_delivery()
        return True

    def _m_getWebhookInfo(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        if self.webhook is None:
            return {"url": "", "has_custom_certificate": False,
                    "pending_update_count": len(self._updates)}
        info: dict[str, Any] = {"url": self.webhook.url, "has_custom_certificate": False,
                                "pending_update_count": len(self._webhook_pending),
                                "max_connections": 40}
        if self.webhook.allowed_updates:
            info["allowed_updates"] = self.webhook.allowed_updates
        if self.webhook.last_error_date is not None:
            info["last_error_date"] = self.webhook.last_error_date
            info["last_error_message"] = self.webhook.last_error_message
        return info

    def _m_getUpdates(self, params: dict[str, Any], files: Any) -> list[dict[str, Any]]:
        # Only reached in process, or over HTTP to answer the conflict; the HTTP server
        # long-polls through get_updates().
        self.check_polling_allowed()
        offset = params.get("offset")
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return self._updates[: params.get("limit", 100)]

    def _m_setMyCommands(self, params: dict[str, Any], files: Any) -> bool:
        self.commands[self._commands_key(params)] = params["commands"]
        return True

    def _m_getMyCommands(self, params: dict[str, Any], files: Any) -> list[dict[str, Any]]:
        return self.commands.get(self._commands_key(params), [])

    def _m_deleteMyCommands(self, params: dict[str, Any], files: Any) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> str:
        """Command lists are kept per scope (the default one, or one chat) and language."""
        scope = params.get("scope") or {}
        where = f"chat:{scope.get('chat_id')}" if scope.get("type") == "chat" else "default"
        return f"{where}|{params.get('language_code', '')}"

    def menu_commands(self, chat_id: int, language_code: str | None = None) -> list[str]:
        """The commands a user's client shows in this chat: the chat's own list if the bot
        set one, else the default list for the user's language, else the default one."""
        language = language_code or self.users.get(chat_id, {}).get("language_code", "")
        for key in (f"chat:{chat_id}|", f"default|{language}", "default|"):
            if key in self.commands:
                return [command["command"] for command in self.commands[key]]
        return []

    def _m_setChatMenuButton(self, params: dict[str, Any], files: Any) -> bool:
        return True

    def _m_sendChatAction(self, params: dict[str, Any], files: Any) -> bool:
        self._target_chat(params)
        return True

    def _m_sendMessage(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_length(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._bot_message(params, text=text)

    def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        file_id = self._store_file(params, files, "photo")
        photo = [{"file_id": file_id, "file_unique_id": file_id[:16], "width": 512,
                  "height": 512, "file_size": len(self.files[file_id][1])}]
        return self._bot_message(params, photo=photo, **self._caption(params))

    def _m_sendDocument(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        file_id = self._store_file(params, files, "document")
        name, content, mime = self.files[file_id]
        document = {"file_id": file_id, "file_unique_id": file_id[:16], "file_name": name,
                    "mime_type": mime, "file_size": len(content)}
        return self._bot_message(params, document=document, **self._caption(params))

    def _m_sendLocation(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        location = {"latitude": params["latitude"], "longitude": params["longitude"]}
        return self._bot_message(params, location=location)

    def _m_sendVenue(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        location = {"latitude": params["latitude"], "longitude": params["longitude"]}
        venue = {"location": location, "title": params.get("title", ""),
                 "address": params.get("address", "")}
        return self._bot_message(params, venue=venue, location=location)

    def _m_editMessageText(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        message = self._own_message(params)
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_length(text) > 4096:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        if message.get("text") == text and message.get("reply_markup") == params.get(
                "reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        message["text"] = text
        message["edit_date"] = int(self._now())
        self._set_inline_markup(message, params.get("reply_markup"))
        return message

    def _m_editMessageReplyMarkup(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        message = self._own_message(params)
        self._set_inline_markup(message, params.get("reply_markup"))
        message["edit_date"] = int(self._now())
        return message

    def _m_answerCallbackQuery(self, params: dict[str, Any], files: Any) -> bool:
        if _utf16_length(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers.append(params)
        return True

    def _m_getFile(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        file_id = params.get("file_id", "")
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": file_id[:16],
                "file_size": len(self.files[file_id][1]), "file_path": f"files/{file_id}"}

    # --- helpers --------------------------------------------------------------------
    def _target_chat(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int) or chat_id not in self.users:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _bot_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        message: dict[str, Any] = {"message_id": self._next_message_id(chat_id),
                                   "date": int(self._now()), "chat": self._chat(chat_id),
                                   "from": self.bot_user, **content}
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            _check_markup(markup)
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup
            elif "keyboard" in markup:
                self.reply_keyboards[chat_id] = markup
            elif markup.get("remove_keyboard"):
                self.reply_keyboards[chat_id] = None
        self.messages[chat_id].append(message)
        return message

    def _own_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        message = self.find_message(chat_id, params.get("message_id", -1))
        if message is None or not message.get("from", {}).get("is_bot"):
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    @staticmethod
    def _set_inline_markup(message: dict[str, Any], markup: Any) -> None:
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            _check_markup(markup)
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    def _store_file(self, params: dict[str, Any], files: dict[str, Any], name: str) -> str:
        if name in files:
            filename, content, mime = files[name]
            if hasattr(content, "read"):
                content = content.read()
        elif isinstance(params.get(name), str) and params[name] in self.files:
            return params[name]
        else:
            raise ApiError(400, f"Bad Request: there is no {name} in the request")
        file_id = "F" + hashlib.sha1(content).hexdigest()[:30]
        self.files[file_id] = (filename or name, content, mime or "application/octet-stream")
        return file_id

    @staticmethod
    def _caption(params: dict[str, Any]) -> dict[str, Any]:
        caption = params.get("caption")
        if caption and _utf16_length(caption) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        return {"caption": caption} if caption else {}

    def _chat(self, chat_id: int) -> dict[str, Any]:
        user = self.users[chat_id]
        return {"id": chat_id, "type": "private", "first_name": user["first_name"]}

    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)


def _check_markup(markup: dict[str, Any]) -> None:
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    for row in rows:
        if len(row) > 8:
            raise ApiError(400, "Bad Request: too many buttons in a row")
        for button in row:
            data = button.get("callback_data") if isinstance(button, dict) else None
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _utf16_length(text: str) -> int:
    """Telegram counts the length of texts in UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        return json.loads(value)
    if name in INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    if name in FLOAT_FIELDS:
        return float(value)
    if name in BOOL_FIELDS:
        return value.lower() == "true"
    return value


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
