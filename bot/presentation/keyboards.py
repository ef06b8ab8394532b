"""Keyboards shared by several handlers. Callback data: short ASCII, never names."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.i18n import LANGUAGES, N_, Translator
from bot.presentation.callbacks import Callback

# The aspirant's menu: (action, emoji, label). The emoji stays outside the translation.
ASPIRANT_MENU: tuple[tuple[str, str, str], ...] = (
    ("schedule", "📅", N_("My schedule")),
    ("checkin", "✅", N_("Check in")),
    ("absence", "🤒", N_("Report absence")),
    ("plan", "📋", N_("My plan")),
    ("language", "🌐", N_("Language")),
    ("help", "❓", N_("Help")),
    ("mydata", "🔒", N_("My data")),
    ("stop", "⛔", N_("Stop")),
)

ASPIRANT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("schedule", N_("My schedule")),
    ("checkin", N_("Check in")),
    ("absence", N_("Report absence")),
    ("plan", N_("My plan")),
    ("language", N_("Language")),
    ("help", N_("Help")),
    ("mydata", N_("My data")),
    ("stop", N_("Stop and erase my data")),
)

STAFF_COMMANDS: tuple[tuple[str, str], ...] = (
    ("invite", N_("Invite an aspirant")),
    ("caseload", N_("My aspirants today")),
    ("sessions", N_("Information sessions")),
    ("plan", N_("Plan milestones")),
    ("report", N_("Figures")),
    ("admin", N_("Administration")),
    ("language", N_("Language")),
    ("help", N_("Help")),
    ("mydata", N_("My data")),
)


SOCIAL_WORKER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("statements", N_("My aspirants' attendance and plans")),
    ("language", N_("Language")),
    ("help", N_("Help")),
    ("mydata", N_("My data")),
)


def menu_label(t: Translator, emoji: str, label: str) -> str:
    return f"{emoji} {t._(label)}"


# Keyboards are immutable: one per language serves every reply.
_MENUS: dict[str, ReplyKeyboardMarkup] = {}


def aspirant_menu(t: Translator) -> ReplyKeyboardMarkup:
    menu = _MENUS.get(t.language)
    if menu is None:
        menu = _MENUS[t.language] = _aspirant_menu(t)
    return menu


def _aspirant_menu(t: Translator) -> ReplyKeyboardMarkup:
    labels = [menu_label(t, emoji, label) for _, emoji, label in ASPIRANT_MENU]
    rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
    return ReplyKeyboardMarkup(
        [[KeyboardButton(text) for text in row] for row in rows],
        resize_keyboard=True,
        is_persistent=True,
    )


def menu_action(t: Translator, text: str) -> str | None:
    """The menu action a reply-keyboard text stands for, in the reader's language."""
    for action, emoji, label in ASPIRANT_MENU:
        if text in (menu_label(t, emoji, label), t._(label)):
            return action
    return None


def commands(t: Translator, entries: Sequence[tuple[str, str]]) -> list[BotCommand]:
    return [BotCommand(name, t._(description)[:256]) for name, description in entries]


def language_picker(data: Callable[[str], Callback], preselected: str | None = None
                    ) -> InlineKeyboardMarkup:
    """One button per language, each in its own name; ``data(code)`` is what it carries."""
    buttons = []
    for code, name in LANGUAGES.items():
        text = f"✓ {name}" if code == preselected else name
        buttons.append(InlineKeyboardButton(text, callback_data=data(code).encode()))
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def one_column(buttons: Sequence[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button] for button in buttons])
