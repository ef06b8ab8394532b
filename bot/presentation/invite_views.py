"""How the outbox's notices about invites are worded, and their buttons."""

from __future__ import annotations

from telegram import InlineKeyboardButton

from bot.i18n import N_, Term, Translator
from bot.models import OutboxMessage, Role
from bot.presentation.callbacks import InviteRelease
from bot.presentation.views import ROLE_NOUNS
from bot.services.people.onboarding import ASPIRANT_REFUSED_NOTICE, HELD_NOTICE

RELEASE = N_("Release the invite")
ASPIRANT_REFUSED = N_(
    "Your invite for a new {role} at {centre} was opened by an account that is registered "
    "as an aspirant, and was refused: a staff role is never added to an aspirant's account. "
    "The invite still works for someone else.")


def _aspirant_refused(message: OutboxMessage, t: Translator) -> str:
    role = Role(message.params.get("role") or Role.COACH.value)
    return t._(ASPIRANT_REFUSED, role=Term(ROLE_NOUNS[role]),
               centre=str(message.params.get("centre") or "—"))


def _release_button(message: OutboxMessage, t: Translator) -> list[list[InlineKeyboardButton]]:
    invite_id = message.params.get("invite")
    if not isinstance(invite_id, int):
        return []
    return [[InlineKeyboardButton(t._(RELEASE),
                                  callback_data=InviteRelease(invite_id).encode())]]


COMPOSERS = {ASPIRANT_REFUSED_NOTICE: _aspirant_refused}
KEYBOARDS = {HELD_NOTICE: _release_button}
