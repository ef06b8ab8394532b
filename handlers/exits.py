"""A coach ends an aspirant's enrolment from the caseload: reason, confirm, done."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler

from bot.models import Role
from bot.presentation import callbacks as cb
from bot.services.attendance import follow_up
from bot.services.people import enrolments
from handlers.base import Turn, on

STAFF = frozenset({Role.COACH, Role.TEAM_LEAD, Role.ADMIN})
_CODES = {"w": "work", "s": "studies", "r": "returned", "o": "other"}


BUTTONS = (cb.ExitView, cb.ExitReason, cb.ExitConfirm)


@on(roles=STAFF)
def exit_button(turn: Turn) -> None:
    assert turn.person is not None
    match turn.pressed(*BUTTONS):
        case cb.ExitView(number):
            enrolment = follow_up.enrolment_for(turn.db, turn.person, number)
            rows = [[InlineKeyboardButton(turn._(enrolments.EXIT_REASONS[reason]),
                                          callback_data=cb.ExitReason(enrolment.id,
                                                                      code).encode())]
                    for code, reason in _CODES.items()]
            rows.append([InlineKeyboardButton("‹ " + turn._("Back"),
                                              callback_data=cb.CaseloadDetail(
                                                  enrolment.id).encode())])
            turn.edit_or_say(
                turn._("Why does {name}'s time with the job centre end?",
                       name=enrolment.aspirant.display_name or "?"),
                reply_markup=InlineKeyboardMarkup(rows))
        case cb.ExitReason(number, code):
            enrolment = follow_up.enrolment_for(turn.db, turn.person, number)
            turn.edit_or_say(
                turn._("End the enrolment of {name} ({reason})? Their reminders stop and "
                       "they are told.", name=enrolment.aspirant.display_name or "?",
                       reason=turn._(enrolments.EXIT_REASONS[_CODES[code]])),
                reply_markup=InlineKeyboardMarkup([[
                    InlineKeyboardButton(turn._("Yes, end it"),
                                         callback_data=cb.ExitConfirm(enrolment.id,
                                                                      code).encode()),
                    InlineKeyboardButton(turn._("No"), callback_data=cb.CaseloadDetail(
                        enrolment.id).encode()),
                ]]))
        case cb.ExitConfirm(number, code):
            enrolment = enrolments.close(turn.db, turn.now, turn.person, number, _CODES[code])
            turn.edit_or_say(turn._("The enrolment of {name} has ended.",
                                          name=enrolment.aspirant.display_name or "?"),
                                   reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
                                       "‹ " + turn._("All my aspirants"),
                                       callback_data=cb.CaseloadPage(0).encode())]]))
        case _:
            turn.stale()


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(exit_button, pattern=cb.any_of(*BUTTONS)))
