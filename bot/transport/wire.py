"""Texts sent the short way: a reply needs neither its keyboard rebuilt nor the answer parsed.

python-telegram-bot's ``send_message`` turns the keyboard into a dict again on every
call and builds a full ``Message`` from Telegram's answer. A reply's keyboard is mostly
one of a few menus made once per language (bot/presentation/keyboards.py), and nothing
of the answer is used: the two steps were about 40 % of the event loop's work per
check-in. Here a keyboard is encoded once and the answer stays a dict. The request
still goes through the bot's own ``_post``, so defaults, the rate limiter and Telegram's
errors (429, 403, network) are exactly those of ``send_message``.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from telegram import Bot, TelegramObject

# Keyboards encoded lately, by identity (kept alive here, so an id is never reused while
# it is a key). PTB's objects are frozen once built, so an encoding stays right.
_ENCODED: OrderedDict[int, tuple[TelegramObject, str]] = OrderedDict()
ENCODED_KEPT = 256


def encoded(value: TelegramObject) -> str:
    """``value`` as the JSON text Telegram receives (what PTB would send for it)."""
    key = id(value)
    kept = _ENCODED.get(key)
    if kept is not None and kept[0] is value:
        _ENCODED.move_to_end(key)
        return kept[1]
    text = json.dumps(value.to_dict())
    _ENCODED[key] = (value, text)
    if len(_ENCODED) > ENCODED_KEPT:
        _ENCODED.popitem(last=False)
    return text


def _common(bot: Bot, text: str, markup: TelegramObject | None) -> dict[str, Any]:
    data: dict[str, Any] = {"text": text}
    if markup is not None:
        data["reply_markup"] = encoded(markup)
    defaults = getattr(bot, "defaults", None)
    preview = defaults.link_preview_options if defaults is not None else None
    if preview is not None:
        data["link_preview_options"] = encoded(preview)
    return data


async def send_text(bot: Bot, chat_id: int, text: str,
                    markup: TelegramObject | None = None) -> dict[str, Any]:
    """``sendMessage``; returns Telegram's answer (the new message) as it came."""
    data = _common(bot, text, markup)
    data["chat_id"] = chat_id
    return await bot._post("sendMessage", data)  # the path of Bot.send_message


async def edit_text(bot: Bot, chat_id: int, message_id: int, text: str,
                    markup: TelegramObject | None = None) -> Any:
    """``editMessageText`` of a message in ``chat_id``."""
    data = _common(bot, text, markup)
    data["chat_id"] = chat_id
    data["message_id"] = message_id
    return await bot._post("editMessageText", data)  # the path of Bot.edit_message_text
