"""Keyboards shared by several handlers. Callback data: short ASCII, never names."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.i18n import LANGUAGES, N_, Translator
from bot.models import Role
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
    ("web", N_("Web console")),
    ("language", N_("Language")),
    ("help", N_("Help")),
    ("mydata", N_("My data")),
    ("stop", N_("Stop and erase my data")),
)

# Team leads follow up and see figures; inviting is for coaches and admins.
TEAM_LEAD_COMMANDS: tuple[tuple[str, str], ...] = tuple(
    entry for entry in STAFF_COMMANDS if entry[0] != "invite")

ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    *STAFF_COMMANDS[:5],
    ("admin", N_("Administration")),
    *STAFF_COMMANDS[5:],
)

SOCIAL_WORKER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("statements", N_("My aspirants' attendance and plans")),
    ("language", N_("Language")),
    ("help", N_("Help")),
    ("mydata", N_("My data")),
    ("stop", N_("Stop and erase my data")),
)


# Someone the bot does not know yet can only start (from an invite link).
NEWCOMER_COMMANDS: tuple[tuple[str, str], ...] = (("start", N_("Start with your invite link")),)

# What each role may use (each command's handler allows that role: a test checks it).
# A new role is one line here.
ROLE_COMMANDS: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.ASPIRANT: ASPIRANT_COMMANDS,
    Role.COACH: STAFF_COMMANDS,
    Role.TEAM_LEAD: TEAM_LEAD_COMMANDS,
    Role.ADMIN: ADMIN_COMMANDS,
    Role.SOCIAL_WORKER: SOCIAL_WORKER_COMMANDS,
}
# The reply keyboard under the chat, for the roles that have one.
ROLE_MENUS: dict[Role, tuple[tuple[str, str, str], ...]] = {
    Role.ASPIRANT: ASPIRANT_MENU,
}


def commands_for(roles: Iterable[Role]) -> tuple[tuple[str, str], ...]:
    """(command, description) a person with these roles may use, each once: the
    aspirant's wording first for a person who is also staff, then each role's additions."""
    held = set(roles)
    chosen: dict[str, str] = {}
    for role, entries in ROLE_COMMANDS.items():
        if role in held:
            for name, description in entries:
                chosen.setdefault(name, description)
    # Everyday commands first, the ones for everyone (language, help, ...) last.
    last = [name for name, _ in ASPIRANT_COMMANDS[4:]]
    order = sorted(chosen, key=lambda name: last.index(name) if name in last else -1)
    return tuple((name, chosen[name]) for name in order)


def menu_for(t: Translator, roles: Iterable[Role]) -> ReplyKeyboardMarkup | None:
    """The reply keyboard for these roles (None: they have none)."""
    held = set(roles)
    for role, entries in ROLE_MENUS.items():
        if role in held:
            return reply_menu(t, entries)
    return None


def menu_label(t: Translator, emoji: str, label: str) -> str:
    return f"{emoji} {t._(label)}"


# Keyboards are immutable: one per language and menu serves every reply.
_MENUS: dict[tuple[str, int], ReplyKeyboardMarkup] = {}


def aspirant_menu(t: Translator) -> ReplyKeyboardMarkup:
    return reply_menu(t, ASPIRANT_MENU)


def reply_menu(t: Translator, entries: tuple[tuple[str, str, str], ...]) -> ReplyKeyboardMarkup:
    key = (t.language, id(entries))
    menu = _MENUS.get(key)
    if menu is None:
        labels = [menu_label(t, emoji, label) for _, emoji, label in entries]
        rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
        menu = _MENUS[key] = ReplyKeyboardMarkup(
            [[KeyboardButton(text) for text in row] for row in rows],
            resize_keyboard=True,
            is_persistent=True,
        )
    return menu


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
