"""What Telegram's answer means for the message, and how to write it down without a traceback.

Only two answers end a message: "this message is wrong" (400) and "this person is gone"
(403, they blocked the bot). "Wait" (429) is a pause, never a failure; server errors,
timeouts and a lost connection are tried again later. Anything else is a fault of ours.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Callable
from enum import StrEnum
from http import HTTPStatus

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot import metrics


class Verdict(StrEnum):
    THROTTLED = "throttled"  # 429: wait at least retry_after; no attempt is used up
    TRANSIENT = "transient"  # 5xx, timeouts, connection: back off and try again
    WRONG = "wrong"  # 400: the message itself is wrong; sending it again will not help
    GONE = "gone"  # 403: the person blocked the bot or deleted their account
    OURS = "ours"  # not an answer of Telegram's: a fault of ours (tried a few times)


def verdict(error: BaseException) -> Verdict:
    if isinstance(error, RetryAfter):
        return Verdict.THROTTLED
    if isinstance(error, Forbidden):
        return Verdict.GONE
    if isinstance(error, BadRequest | ChatMigrated):
        return Verdict.WRONG
    # TimedOut and every other NetworkError (5xx, refused, reset); InvalidToken and
    # Conflict are the bot's set-up, which an operator fixes without losing the queue.
    if isinstance(error, TelegramError):
        return Verdict.TRANSIENT
    return Verdict.OURS


_CODE_IN_MESSAGE = re.compile(r"\((\d{3})\)$")
_PHRASES = {status.phrase.lower(): status.value for status in HTTPStatus}


def error_code(error: BaseException) -> str:
    """A short code for logs and ``last_error``: the HTTP status with Telegram's own
    description of a refusal (it describes the request, never the person), or the
    error's class."""
    if isinstance(error, RetryAfter):
        return "429"
    if isinstance(error, Forbidden):
        return "403"
    if isinstance(error, BadRequest):
        return f"400 {error.message}"
    if isinstance(error, InvalidToken):
        return "HTTP 401/404 InvalidToken"
    if isinstance(error, Conflict):
        return "HTTP 409 Conflict"
    if isinstance(error, TimedOut):
        return "TimedOut"
    if isinstance(error, NetworkError):
        status = http_status(error)
        return f"HTTP {status}" if status is not None else "NetworkError"
    return type(error).__name__


def http_status(error: NetworkError) -> int | None:
    """The HTTP status behind a NetworkError, when python-telegram-bot kept it."""
    message = error.message.strip()
    match = _CODE_IN_MESSAGE.search(message)
    if match:
        return int(match.group(1))
    return _PHRASES.get(message.lower())


def retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        # python-telegram-bot 22 warns that the type will become a timedelta: both are read.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)


class ThrottleLog:
    """Telegram asking to wait is routine under load: a warning with a count at most every
    ``window`` seconds (and the metric), never a traceback per send."""

    def __init__(self, logger: logging.Logger, *, window: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.window = window
        self.clock = clock
        self._count = 0
        self._longest = 0.0
        self._since: float | None = None

    def note(self, retry_after: float) -> None:
        metrics.TELEGRAM_429.inc()
        self._count += 1
        self._longest = max(self._longest, retry_after)
        now = self.clock()
        if self._since is not None and now - self._since < self.window:
            return
        period = "" if self._since is None else f" in the last {now - self._since:.0f} s"
        self.logger.warning("Telegram asked the bot to wait (HTTP 429) %d time(s)%s, for up "
                            "to %.0f s; sending waits as asked", self._count, period,
                            self._longest)
        self._count, self._longest, self._since = 0, 0.0, now


THROTTLES = ThrottleLog(logging.getLogger("bot.transport"))
