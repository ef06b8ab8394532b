"""/web: a one-time link that signs a staff member in to the web console.

The link is worth a session for its ten minutes: the answer says so, and that it must
not be shared. Aspirants have no console (the decorator refuses them in their language).
A button opens it where Telegram allows one (an https:// address).
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CommandHandler

from bot.services.web import sign_in
from handlers.base import Turn, on


def sign_in_url(base: str, token: str) -> str:
    return f"{base}/signin/{token}"


@on(roles=sign_in.STAFF_ROLES)
def web_command(turn: Turn) -> None:
    assert turn.person is not None
    settings = turn.runtime.settings
    token = sign_in.issue_link(turn.db, turn.now, turn.person)
    url = sign_in_url(settings.console_url, token)
    minutes = int(sign_in.LINK_VALID.total_seconds() // 60)
    text = turn._("Your link to the web console. It works once, for {minutes} minutes; do "
                  "not share it:\n{link}", minutes=minutes, link=url)
    markup = None
    if settings.console_is_https:
        # Telegram takes buttons only with public addresses; the text has the link anyway.
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(turn._("Open the web console"),
                                                             url=url)]])
    turn.say(text, reply_markup=markup)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("web", web_command))
