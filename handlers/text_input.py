"""Free text typed at a step of a conversation: checked when it arrives.

A value longer than where it is stored is refused at once, with the limit and the
length sent in the answer, before anything is parsed, echoed or saved. A refused
value leaves the step open only when the answer says so ("your next message is taken
as …") and offers a way out; a step whose input can never be accepted (the aspirant
is no longer in the coach's caseload, the session was cancelled…) is closed.
"""

from __future__ import annotations

from sqlalchemy import String
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler

from bot.errors import DomainError
from bot.i18n import N_
from bot.models import ConversationState
from bot.presentation import callbacks as cb
from bot.services.system import conversations
from handlers.base import Turn, on

STILL_EXPECTED = N_("Your next message is taken as the answer. To stop, press Cancel.")


def column_limit(column: object) -> int:
    """The characters a String column holds (what a typed value may be at most)."""
    kind = getattr(column, "type", None)
    if not isinstance(kind, String) or kind.length is None:
        raise TypeError(f"{column!r} is not a String column with a length")
    return kind.length


def too_long(turn: Turn, text: str, limit: int, *, prompt: str | None = None,
             cancel: cb.Callback | None = None) -> bool:
    """Refuse ``text`` if it is over ``limit`` characters, keeping the step open."""
    if len(text) <= limit:
        return False
    ask_again(turn, turn._("That is too long: at most {limit} characters, and yours has "
                           "{count}. Nothing was saved.", limit=limit, count=len(text)),
              prompt=prompt, cancel=cancel)
    return True


def ask_again(turn: Turn, problem: str, *, prompt: str | None = None,
              cancel: cb.Callback | None = None) -> None:
    """The value was refused and the step stays open: say so, and how to stop."""
    lines = [problem]
    if prompt:
        lines += ["", prompt]
    lines += ["", turn._(STILL_EXPECTED)]
    button = InlineKeyboardButton(turn._("Cancel"),
                                  callback_data=(cancel or cb.StepCancel()).encode())
    turn.say("\n".join(lines), reply_markup=InlineKeyboardMarkup([[button]]))


def close_step(turn: Turn, state: ConversationState | None, problem: DomainError) -> None:
    """The input can never be accepted at this step: end it and say why."""
    conversations.finish(turn.db, state)
    turn.say(turn._(problem.message, **problem.params) + "\n\n"
             + turn._("Nothing was saved, and your next message is not taken as an answer."))


@on()
def cancel_step(turn: Turn) -> None:
    """Cancel under a refused value: whatever step this chat is at ends."""
    state = turn.current_conversation() if turn.pressed(cb.StepCancel) else None
    if state is None:
        turn.stale()
        return
    conversations.finish(turn.db, state)
    turn.edit_or_say(turn._("Cancelled. Nothing has changed."))


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(cancel_step, pattern=cb.StepCancel.matches))
