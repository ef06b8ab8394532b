"""How an outbox row becomes a Telegram message in the recipient's language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.i18n import Translator
from bot.models import OutboxMessage
from bot.services.messaging.outbox import REPLY_KIND


@dataclass
class Rendered:
    text: str
    reply_markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None


# kind -> function(message, translator) -> inline keyboard rows
_KEYBOARDS: dict[str, Any] = {}


def keyboard(kind: str):  # type: ignore[no-untyped-def]
    """Register the buttons that go with messages of ``kind``."""

    def register(builder):  # type: ignore[no-untyped-def]
        _KEYBOARDS[kind] = builder
        return builder

    return register


# kind -> function(message, translator) -> text, for messages worded from structured params
_TEXTS: dict[str, Any] = {}


def composed(kind: str):  # type: ignore[no-untyped-def]
    """Register how messages of ``kind`` are worded from their params (instead of a template)."""

    def register(composer):  # type: ignore[no-untyped-def]
        _TEXTS[kind] = composer
        return composer

    return register


def render(message: OutboxMessage, t: Translator, default_language: str | None = None
           ) -> Rendered:
    if message.kind == REPLY_KIND:
        return _reply(message)
    composer = _TEXTS.get(message.kind)
    if composer is not None:
        text = composer(message, t)
    else:
        text = _templated(message, t, default_language)
    builder = _KEYBOARDS.get(message.kind)
    rows: list[list[InlineKeyboardButton]] = builder(message, t) if builder else []
    return Rendered(text=text[:4096], reply_markup=InlineKeyboardMarkup(rows) if rows else None)


_MARKUPS = {cls.__name__: cls for cls in (InlineKeyboardMarkup, ReplyKeyboardMarkup,
                                          ReplyKeyboardRemove)}


def _reply(message: OutboxMessage) -> Rendered:
    """A reply worded when it was decided, kept because Telegram did not take it then."""
    stored = message.params.get("markup")
    markup = None
    if isinstance(stored, dict) and stored.get("type") in _MARKUPS:
        markup = _MARKUPS[stored["type"]].de_json(stored.get("data") or {}, None)
    return Rendered(text=str(message.params.get("text") or "")[:4096], reply_markup=markup)


def _templated(message: OutboxMessage, t: Translator, default_language: str | None) -> str:
    """The template in the reader's language; a reminder rule's own text (``_texts``) wins:
    the reader's language, else the default language, else the built-in text."""
    params = {key: value for key, value in message.params.items()
              if not key.startswith("_") and not isinstance(value, list)}
    template = message.template
    own = message.params.get("_texts")
    if isinstance(own, dict):
        template = own.get(t.language) or own.get(default_language or "") or template
    return t._(template, **params) if template else ""
