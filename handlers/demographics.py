"""Coach records an aspirant's gender and year of birth, where an admin switched it on."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler

from bot.calendar import local_date
from bot.errors import DomainError
from bot.i18n import N_
from bot.models import Role
from bot.presentation import callbacks as cb
from bot.services.attendance import follow_up
from bot.services.people import demographics
from bot.services.system import conversations
from handlers.base import Turn, on
from handlers.menu import text_step_handler
from handlers.text_input import ask_again, close_step, too_long

FLOW = "demographics"
STAFF = frozenset({Role.COACH, Role.TEAM_LEAD, Role.ADMIN})
_CODES: dict[str, str | None] = {"w": "woman", "m": "man", "o": "other", "n": None}
YEAR_PROMPT = N_("Send the year of birth (e.g. 1990), or - to remove it.")


def _view(turn: Turn, enrolment_id: int) -> tuple[str, InlineKeyboardMarkup]:
    assert turn.person is not None
    enrolment = follow_up.enrolment_for(turn.db, turn.person, enrolment_id)
    person = enrolment.aspirant
    gender = person.gender
    text = "\n".join([
        person.display_name or "?",
        turn._("Gender: {gender}", gender=turn._(demographics.GENDER_NAMES[gender])
               if gender else turn._("not recorded")),
        turn._("Year of birth: {year}", year=str(person.birth_year) if person.birth_year
               else turn._("not recorded")),
        turn._("Used only for figures by gender and age band."),
    ])
    genders = [InlineKeyboardButton(("• " if gender == value else "") + turn._(label),
                                    callback_data=cb.RecordGender(enrolment_id, code).encode())
               for code, value in _CODES.items()
               for label in [demographics.GENDER_NAMES.get(value or "", N_("not recorded"))]]
    rows = [genders[:2], genders[2:],
            [InlineKeyboardButton(turn._("Year of birth"),
                                  callback_data=cb.AskBirthYear(enrolment_id).encode())],
            [InlineKeyboardButton("‹ " + turn._("Back"),
                                  callback_data=cb.CaseloadDetail(enrolment_id).encode())]]
    return text, InlineKeyboardMarkup(rows)


BUTTONS = (cb.DemographicsView, cb.RecordGender, cb.AskBirthYear)


@on(roles=STAFF)
def demographics_button(turn: Turn) -> None:
    assert turn.person is not None
    match turn.pressed(*BUTTONS):
        case cb.DemographicsView(enrolment):
            pass
        case cb.RecordGender(enrolment, code):
            demographics.record_gender(turn.db, turn.now, turn.person, enrolment, _CODES[code])
            turn.toast(turn._("Saved."))
        case cb.AskBirthYear(enrolment):
            follow_up.enrolment_for(turn.db, turn.person, enrolment)  # may they?
            conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, FLOW, "year",
                                {"enrolment": enrolment})
            turn.say(turn._(YEAR_PROMPT))
            return
        case _:
            turn.stale()
            return
    text, markup = _view(turn, enrolment)
    turn.edit_or_say(text, reply_markup=markup)


@text_step_handler(FLOW)
def year_text(turn: Turn, state: Any) -> None:
    if turn.person is None or not turn.has_role(*STAFF):
        conversations.finish(turn.db, state)
        return
    enrolment_id = state.data["enrolment"]
    if too_long(turn, turn.text, 40, prompt=turn._(YEAR_PROMPT)):
        return
    try:
        year = demographics.parse_birth_year(turn.text, local_date(turn.now, turn.t.zone))
    except DomainError as problem:
        ask_again(turn, turn._(problem.message, **problem.params), prompt=turn._(YEAR_PROMPT))
        return
    try:
        with turn.db.begin_nested():
            demographics.record_birth_year(turn.db, turn.now, turn.person, enrolment_id, year)
    except DomainError as problem:
        close_step(turn, state, problem)
        return
    conversations.finish(turn.db, state)
    text, markup = _view(turn, enrolment_id)
    turn.say(turn._("Saved.") + "\n\n" + text, reply_markup=markup)


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(demographics_button,
                                                 pattern=cb.any_of(*BUTTONS)))
