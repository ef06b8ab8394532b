"""Sends what a handler decided, after its unit of work has committed.

Replies go out in the order they were recorded. A press is answered first, so the
button stops spinning at once. Every reply takes a slot of the bot's sending budget at
reply priority (the rate limiter, bot/transport/ratelimit.py), so a person in the chat
goes before a reminder run in progress. Telegram asking to wait (429) is waited out, a
network failure is tried again a few times; what still cannot be delivered waits in
the outbox for the dispatcher, sent before any reminder, so nothing the person was told
is lost. A person who blocked the bot is marked unreachable once.
"""

from __future__ import annotations

import asyncio
import io
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, BotCommandScopeChat, InputFile
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.logsafe import describe_error
from bot.runtime import Runtime
from bot.transport import wire
from bot.transport.replies import (
    Commands,
    Document,
    Edit,
    EditButtons,
    Location,
    Photo,
    Replies,
    Reply,
    Text,
    Toast,
    Venue,
)
from bot.transport.telegram_errors import THROTTLES, retry_after_seconds

log = logging.getLogger(__name__)

# How long a person's reply may wait for Telegram before it goes to the outbox instead.
PATIENCE_SECONDS = 20.0
ATTEMPTS = 3


class Undelivered(Exception):
    """Telegram could not be reached in time; the reply should wait in the outbox."""


async def deliver(bot: Bot, runtime: Runtime, replies: Replies) -> None:
    if replies.callback_query_id is not None:
        await _answer(bot, replies.callback_query_id, replies.toast or Toast())
    for index, item in enumerate(replies.items):
        try:
            await _patiently(runtime, lambda item=item: _send(bot, replies.chat_id, item))  # type: ignore[misc]
        except Forbidden:
            if isinstance(item, Commands) and item.chat_id not in (None, replies.chat_id):
                # Another person's menu: they blocked the bot, this chat's person did not.
                log.info("command menu of another chat not set: the bot is blocked there")
                continue
            await _blocked(runtime, replies)
            return
        except BadRequest as error:
            # A reply Telegram refuses is a bug of ours; the rest still goes out.
            log.warning("Telegram refused a %s reply: %s", type(item).__name__, error.message)
        except Undelivered:
            await _queue(runtime, replies, replies.items[index:])
            return


async def _answer(bot: Bot, query_id: str, toast: Toast) -> None:
    try:
        await bot.answer_callback_query(query_id, text=toast.text, show_alert=toast.alert)
    except TelegramError as error:
        # The query is too old or Telegram is away: the press itself was handled.
        log.info("button press not answered: %s", type(error).__name__)


async def _patiently(runtime: Runtime, send: Callable[[], Awaitable[Any]]) -> Any:
    """Wait out 429s and retry network failures, within ``PATIENCE_SECONDS``."""
    waited = 0.0
    attempt = 0
    while True:
        attempt += 1
        try:
            return await send()
        except RetryAfter as error:
            asked = retry_after_seconds(error)
            THROTTLES.note(asked)
            wait = asked + random.uniform(0, 0.5)
        except (TimedOut, NetworkError) as error:
            if isinstance(error, BadRequest | Forbidden):
                raise
            if attempt >= ATTEMPTS:
                raise Undelivered from error
            wait = 0.5 * 2 ** (attempt - 1) + random.uniform(0, 0.25)
        if waited + wait > PATIENCE_SECONDS:
            raise Undelivered
        waited += wait
        await runtime.pause(wait)


async def _send(bot: Bot, chat_id: int, item: Reply) -> None:
    if isinstance(item, Text):
        await wire.send_text(bot, chat_id, item.text, item.markup)
    elif isinstance(item, Edit):
        try:
            await wire.edit_text(bot, chat_id, item.message_id, item.text, item.markup)
        except BadRequest as error:
            if _not_modified(error):
                return
            if item.quiet:
                log.info("message not edited: %s", error.message)
                return
            # The message is gone or too old to edit: say it anew.
            await wire.send_text(bot, chat_id, item.text, item.markup)
    elif isinstance(item, EditButtons):
        try:
            await bot.edit_message_reply_markup(chat_id=chat_id, message_id=item.message_id,
                                                reply_markup=item.markup)
        except BadRequest as error:
            if not _not_modified(error):
                log.info("buttons not replaced: %s", error.message)
    elif isinstance(item, Photo):
        data = item.data if isinstance(item.data, bytes) else await asyncio.to_thread(item.data)
        caption = item.caption() if callable(item.caption) else item.caption
        await bot.send_photo(chat_id, InputFile(io.BytesIO(data), filename=item.filename),
                             caption=caption)
    elif isinstance(item, Document):
        await bot.send_document(chat_id, InputFile(io.BytesIO(item.data), filename=item.filename),
                                caption=item.caption)
    elif isinstance(item, Location):
        await bot.send_location(chat_id, item.latitude, item.longitude)
    elif isinstance(item, Venue):
        await bot.send_venue(chat_id, item.latitude, item.longitude, item.title, item.address)
    elif isinstance(item, Commands):
        scope = BotCommandScopeChat(item.chat_id or chat_id)
        if item.commands is None:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands(list(item.commands), scope=scope)
    else:  # pragma: no cover - the Reply union is closed
        raise TypeError(type(item).__name__)


def _not_modified(error: BadRequest) -> bool:
    return "not modified" in error.message.lower()


async def _blocked(runtime: Runtime, replies: Replies) -> None:
    if replies.person_id is None:
        return
    from bot.services.people import reachability

    now = runtime.clock.now()
    person_id = replies.person_id
    try:
        # Their queued reminders stop too, and their coach is told (as for the outbox).
        await runtime.database.run(
            lambda db: reachability.mark_unreachable(db, now, person_id))
    except Exception as error:  # the next send to them finds out again
        log.warning("could not record person %s as unreachable: %s", person_id,
                    describe_error(error))


async def _queue(runtime: Runtime, replies: Replies, items: list[Reply]) -> None:
    """Keep the texts Telegram did not take in time; the dispatcher sends them later."""
    from bot.services.messaging import outbox

    texts = [item for item in items if isinstance(item, Text | Edit)]
    dropped = len(items) - len(texts)
    if dropped:
        log.warning("%d reply attachments could not be delivered", dropped)
    if not texts:
        return
    now = runtime.clock.now()

    def keep(db: Any) -> None:
        for item in texts:
            outbox.enqueue_reply(db, now, chat_id=replies.chat_id, person_id=replies.person_id,
                                 text=item.text, markup=item.markup)

    try:
        await runtime.database.run(keep)
    except Exception as error:
        log.error("%d replies lost: neither Telegram nor the database answered (%s)",
                  len(texts), describe_error(error))
        return
    log.warning("%d replies wait in the outbox: Telegram did not answer in time", len(texts))
    runtime.wake_dispatcher()

