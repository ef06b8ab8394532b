"""python-telegram-bot's rate limiter over the bot's one sending budget.

Every message the bot sends waits for a slot of the budget (bot/transport/budget.py):
replies to someone in the chat at ``Priority.REPLY`` (the default), the outbox at
``Priority.BULK``. The dispatcher takes its slots itself, so that the most urgent row
it holds gets each one, and says so with ``rate_limit_args={"paced": True}``.

Nothing is retried here: a 429 holds the budget off for every sender, then goes back
to the caller, which waits as asked and sends again (deliver.py, the dispatcher).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.transport.budget import Priority, SendBudget
from bot.transport.telegram_errors import retry_after_seconds

# The methods that put a message in a chat (or change one): these count towards
# Telegram's 30 a second. Answering a button press, commands and webhook set-up do not.
MESSAGE_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendLocation", "sendVenue", "sendContact",
    "sendMediaGroup", "sendAudio", "sendVideo", "sendVoice", "sendAnimation", "sendSticker",
    "sendPoll", "copyMessage", "forwardMessage", "editMessageText", "editMessageCaption",
    "editMessageReplyMarkup", "editMessageMedia", "editMessageLiveLocation",
})


class BudgetRateLimiter(BaseRateLimiter[dict[str, Any]]):
    def __init__(self, budget: SendBudget) -> None:
        self.budget = budget

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        await self.budget.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        options = rate_limit_args or {}
        if endpoint in MESSAGE_METHODS and not options.get("paced"):
            await self.budget.acquire(Priority(options.get("priority", Priority.REPLY)))
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as error:
            await self.budget.hold_off(retry_after_seconds(error))
            raise
