"""How an outbox row becomes a Telegram message in the recipient's language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.models import OutboxMessage


@dataclass
class Rendered:
    text: str
    reply_markup: InlineKeyboardMarkup | None = None


# kind -> function(message, translator) -> inline keyboard rows
_KEYBOARDS: dict[str, Any] = {}


def keyboard(kind: str):  # type: ignore[no-untyped-def]
    """Register the buttons that go with messages of ``kind``."""

    def register(builder):  # type: ignore[no-untyped-def]
        _KEYBOARDS[kind] = builder
        return builder

    return register


def render(message: OutboxMessage, t: Translator) -> Rendered:
    text = t._(message.template, **message.params) if message.template else ""
    builder = _KEYBOARDS.get(message.kind)
    rows: list[list[InlineKeyboardButton]] = builder(message, t) if builder else []
    return Rendered(text=text[:4096], reply_markup=InlineKeyboardMarkup(rows) if rows else None)
