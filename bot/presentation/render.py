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
from bot.presentation import attendance_views, invite_views, plan_views, reminder_buttons
from bot.services.messaging.outbox import REPLY_KIND
from bot.transport import limits

# kind -> function(message, translator) -> text, for kinds worded from structured params
# (the others are worded from their template) ...
_COMPOSERS: dict[str, Any] = {**attendance_views.COMPOSERS, **invite_views.COMPOSERS,
                              **plan_views.COMPOSERS}
# ... and kind -> function(message, translator) -> rows of inline buttons.
_KEYBOARDS: dict[str, Any] = {**attendance_views.KEYBOARDS, **reminder_buttons.KEYBOARDS,
                              **invite_views.KEYBOARDS, **plan_views.KEYBOARDS}


@dataclass
class Rendered:
    text: str
    reply_markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None


def render(message: OutboxMessage, t: Translator, default_language: str | None = None
           ) -> Rendered:
    if message.kind == REPLY_KIND:
        return _reply(message)
    composer = _COMPOSERS.get(message.kind)
    if composer is not None:
        text = composer(message, t)
    else:
        text = _templated(message, t, default_language)
    builder = _KEYBOARDS.get(message.kind)
    rows: list[list[InlineKeyboardButton]] = builder(message, t) if builder else []
    # One outbox row is one message: a text too long for it is shortened, safely.
    return Rendered(text=limits.fit(text, limits.TEXT),
                    reply_markup=InlineKeyboardMarkup(rows) if rows else None)


_MARKUPS = {cls.__name__: cls for cls in (InlineKeyboardMarkup, ReplyKeyboardMarkup,
                                          ReplyKeyboardRemove)}


def _reply(message: OutboxMessage) -> Rendered:
    """A reply worded when it was decided, kept because Telegram did not take it then."""
    stored = message.params.get("markup")
    markup = None
    if isinstance(stored, dict) and stored.get("type") in _MARKUPS:
        markup = _MARKUPS[stored["type"]].de_json(stored.get("data") or {}, None)
    return Rendered(text=limits.fit(str(message.params.get("text") or ""), limits.TEXT),
                    reply_markup=markup)


def _templated(message: OutboxMessage, t: Translator, default_language: str | None) -> str:
    """The template in the reader's language; a reminder rule's own text (``_texts``) wins:
    the reader's language, else the default language, else the built-in text."""
    params = {key: value for key, value in message.params.items()
              if not key.startswith("_") and not isinstance(value, list)}
    template = message.template
    own = message.params.get("_texts")
    if isinstance(own, dict):
        template = own.get(t.language) or own.get(default_language or "") or template
    plural = message.params.get("_plural")
    if (template == message.template and isinstance(plural, dict)
            and isinstance(params.get(plural.get("count")), int)):
        # A wording that depends on a number: the catalog's form for that number.
        return t.ngettext(template, str(plural["msgid"]), params[plural["count"]], **params)
    return t._(template, **params) if template else ""

