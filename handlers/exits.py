"""A coach ends an aspirant's enrolment from the caseload: reason, confirm, done."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler

from bot.models import Role
from bot.services.attendance import follow_up
from bot.services.people import enrolments
from handlers.base import Turn, on

STAFF = frozenset({Role.COACH, Role.TEAM_LEAD, Role.ADMIN})
_CODES = {"w": "work", "s": "studies", "r": "returned", "o": "other"}


@on(roles=STAFF)
def exit_button(turn: Turn) -> None:
    assert turn.query is not None and turn.person is not None
    parts = (turn.query.data or "").split(":")[1:]
    match parts:
        case ["v", number] if number.isdigit():
            enrolment = follow_up.enrolment_for(turn.db, turn.person, int(number))
            rows = [[InlineKeyboardButton(turn._(enrolments.EXIT_REASONS[reason]),
                                          callback_data=f"ex:r:{enrolment.id}:{code}")]
                    for code, reason in _CODES.items()]
            rows.append([InlineKeyboardButton("‹ " + turn._("Back"),
                                              callback_data=f"cl:d:{enrolment.id}")])
            turn.edit_or_say(
                turn._("Why does {name}'s time with the job centre end?",
                       name=enrolment.aspirant.display_name or "?"),
                reply_markup=InlineKeyboardMarkup(rows))
        case ["r", number, code] if number.isdigit() and code in _CODES:
            enrolment = follow_up.enrolment_for(turn.db, turn.person, int(number))
            turn.edit_or_say(
                turn._("End the enrolment of {name} ({reason})? Their reminders stop and "
                       "they are told.", name=enrolment.aspirant.display_name or "?",
                       reason=turn._(enrolments.EXIT_REASONS[_CODES[code]])),
                reply_markup=InlineKeyboardMarkup([[
                    InlineKeyboardButton(turn._("Yes, end it"),
                                         callback_data=f"ex:c:{enrolment.id}:{code}"),
                    InlineKeyboardButton(turn._("No"), callback_data=f"cl:d:{enrolment.id}"),
                ]]))
        case ["c", number, code] if number.isdigit() and code in _CODES:
            enrolment = enrolments.close(turn.db, turn.now, turn.person, int(number),
                                         _CODES[code])
            turn.edit_or_say(turn._("The enrolment of {name} has ended.",
                                          name=enrolment.aspirant.display_name or "?"),
                                   reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
                                       "‹ " + turn._("All my aspirants"),
                                       callback_data="cl:p:0")]]))
        case _:
            turn.stale()


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(exit_button, pattern=r"^ex:"))
