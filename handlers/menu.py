"""The home screen, help, language, the menu's text buttons, /mydata and /stop."""

from __future__ import annotations

from collections.abc import Callable

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import LANGUAGES
from bot.models import Role
from bot.presentation import callbacks as cb
from bot.presentation.keyboards import (
    ASPIRANT_COMMANDS,
    SOCIAL_WORKER_COMMANDS,
    STAFF_COMMANDS,
    aspirant_menu,
    commands,
    language_picker,
    menu_action,
)
from bot.presentation.views import (
    ABSENCE_REASON_NAMES,
    BOOKING_STATUS_NAMES,
    MILESTONE_NAMES,
    ROLE_NOUNS,
    split_message,
)
from bot.services.people import demographics, erasure, my_data
from bot.services.plans import follow_ups
from bot.services.system import audit
from handlers.base import Turn, invoke, on

EVERYONE = frozenset(Role)
STAFF = frozenset({Role.COACH, Role.TEAM_LEAD, Role.ADMIN})

# Menu actions by name; modules add theirs with ``menu_action_handler``.
_ACTIONS: dict[str, Callable[..., object]] = {}
# Flows that take free text at some step: flow name -> handler(turn, state).
_TEXT_STEPS: dict[str, Callable[..., None]] = {}


def menu_action_handler(name: str):  # type: ignore[no-untyped-def]
    def register(function):  # type: ignore[no-untyped-def]
        _ACTIONS[name] = function
        return function

    return register


def text_step_handler(flow: str):  # type: ignore[no-untyped-def]
    def register(function):  # type: ignore[no-untyped-def]
        _TEXT_STEPS[flow] = function
        return function

    return register


def show_home(turn: Turn) -> None:
    """The menu for the person's role, in their language, keyboard and commands alike."""
    if turn.person_id is None:
        return
    is_aspirant = turn.has_role(Role.ASPIRANT)
    entries = ASPIRANT_COMMANDS if is_aspirant else _staff_commands(turn)
    turn.set_commands(commands(turn.t, entries))
    if is_aspirant:
        turn.say(turn._("What would you like to do? Use the menu below."),
                       reply_markup=aspirant_menu(turn.t))
    else:
        turn.say(_staff_help(turn))


def _staff_commands(turn: Turn) -> tuple[tuple[str, str], ...]:
    """A social worker who is not also staff sees only their own commands."""
    if turn.has_role(Role.SOCIAL_WORKER) and not turn.has_role(*STAFF):
        return SOCIAL_WORKER_COMMANDS
    return STAFF_COMMANDS


def _staff_help(turn: Turn) -> str:
    lines = [turn._("What you can do:")]
    lines += [f"/{name} — {turn._(text)}" for name, text in _staff_commands(turn)]
    return "\n".join(lines)


@on(roles=EVERYONE)
def help_command(turn: Turn) -> None:
    if turn.has_role(Role.ASPIRANT):
        lines = [turn._("This bot reminds you of meetings and plan deadlines at the job "
                        "centre, and lets you check in and report absence."), ""]
        lines += [f"/{name} — {turn._(text)}" for name, text in ASPIRANT_COMMANDS]
        lines += ["", turn._("If something is unclear, talk to your coach.")]
        turn.say("\n".join(lines), reply_markup=aspirant_menu(turn.t))
    else:
        turn.say(_staff_help(turn))


@on(roles=EVERYONE)
def language_command(turn: Turn) -> None:
    turn.say(turn._("Choose your language:"),
                   reply_markup=language_picker(cb.ChooseLanguage, preselected=turn.t.language))


@on(roles=EVERYONE)
def set_language(turn: Turn) -> None:
    assert turn.person is not None
    pressed = turn.pressed(cb.ChooseLanguage)
    if pressed is None:
        turn.stale()
        return
    language = pressed.language
    turn.person.language = language
    turn.use_language(language)
    audit.record(turn.db, turn.now, "person.language", actor=turn.person, subject=turn.person,
                 language=language)
    turn.edit_or_say(turn._("Language: {language}", language=LANGUAGES[language]))
    show_home(turn)


@on(roles=EVERYONE)
def my_data_command(turn: Turn) -> None:
    assert turn.person is not None
    t = turn.t
    data = my_data.gather(turn.db, turn.person)
    person = data.person
    lines = [
        t._("This is everything we store about you:"),
        "",
        t._("Name: {name}", name=person.display_name or "—"),
        t._("Telegram id: {id}", id=str(person.telegram_user_id)),
        t._("Language: {language}", language=LANGUAGES.get(person.language, person.language)),
        t._("Registered: {date}", date=t.date(person.created_at)),
    ]
    if person.gender is not None:
        lines.append(t._("Gender: {gender}", gender=t._(demographics.GENDER_NAMES[person.gender])))
    if person.birth_year is not None:
        lines.append(t._("Year of birth: {year}", year=str(person.birth_year)))
    if person.consent_at is not None:
        lines.append(t._("Consent given: {date}", date=t.date(person.consent_at)))
    lines.append(t._("Roles: {roles}",
                     roles=", ".join(sorted(t._(ROLE_NOUNS[g.role]) for g in person.roles))))
    for enrolment in data.enrolments:
        lines += ["", t._("Job centre: {centre}", centre=enrolment.job_centre.name)]
        coach = enrolment.coach.display_name if enrolment.coach else None
        lines.append(t._("Coach: {coach}", coach=coach or "—"))
        lines.append(t._("Daily attendance required: {answer}",
                         answer=t._("yes") if enrolment.attendance_required else t._("no")))
        if enrolment.intake_on is not None:
            lines.append(t._("Intake: {date}", date=t.short_date(enrolment.intake_on)))
        worker = enrolment.social_worker
        if worker is not None and worker.erased_at is None:
            lines.append(t._("Social worker who gets your attendance and plan: {name}",
                             name=worker.display_name or "?"))
        if enrolment.left_at is not None:
            lines.append(t._("Left: {date}", date=t.date(enrolment.left_at)))
    if data.bookings:
        lines += ["", t._("Information sessions:")]
        for booking, session in data.bookings:
            lines.append(f"• {t.short_date(session.starts_at)} {t.time(session.starts_at)} "
                         f"({t._(BOOKING_STATUS_NAMES[booking.status])})")
    if data.milestones:
        lines += ["", t._("Plan milestones:")]
        for milestone in data.milestones:
            done = f" ✓ {t.short_date(milestone.done_at)}" if milestone.done_at else ""
            if milestone.confirmed_at is not None:
                done += " " + t._("(you confirmed it on {date})",
                                  date=t.short_date(milestone.confirmed_at))
            lines.append(f"• {t._(MILESTONE_NAMES[milestone.kind])}: "
                         f"{t.short_date(milestone.due_on)}{done}")
    if data.attendance:
        lines += ["", t.ngettext("Attendance: {count} day recorded",
                                 "Attendance: {count} days recorded", len(data.attendance))]
    if data.absences:
        lines += ["", t._("Absence reports:")]
        for absence in data.absences:
            lines.append(f"• {t.short_date(absence.first_day)}–{t.short_date(absence.last_day)}"
                         f": {t._(ABSENCE_REASON_NAMES[absence.reason])}")
    for follow_up in data.follow_ups:
        assert follow_up.outcome is not None
        lines += ["", t._("Follow-up six months after you left: {outcome}",
                          outcome=t._(follow_ups.OUTCOME_NAMES[follow_up.outcome]))]
    if data.notes:
        lines += ["", t._("Notes your coach made about your attendance:")]
        lines += [f"• {t.short_date(note.day)}: {note.text}" for note in data.notes]
    lines += ["", t._("To erase your data, send /stop.")]
    for part in split_message("\n".join(lines)):
        turn.say(part)


@on(roles=EVERYONE)
def stop_command(turn: Turn) -> None:
    turn.say(
        turn._("Do you want to stop using the bot? Your personal data will be erased, your "
               "reminders will stop and your coach will be told. This cannot be undone."),
        reply_markup=InlineKeyboardMarkup([[
            InlineKeyboardButton(turn._("Yes, stop and erase"),
                                 callback_data=cb.ConfirmStop("y").encode()),
            InlineKeyboardButton(turn._("No, continue"),
                                 callback_data=cb.ConfirmStop("n").encode()),
        ]]),
    )


@on(roles=EVERYONE)
def confirm_stop(turn: Turn) -> None:
    assert turn.person is not None
    pressed = turn.pressed(cb.ConfirmStop)
    if pressed is None or pressed.answer != "y":
        turn.edit_or_say(turn._("Good, nothing has changed."))
        return
    erasure.erase(turn.db, turn.now, turn.person, actor=turn.person, reason="stop")
    # Commit before saying it is done: the promise must already be true.
    turn.db.commit()
    turn.edit_or_say(turn._(
        "Your personal data has been erased and you will get no more messages. "
        "If you want to come back, ask your coach for a new invite link."
    ))
    turn.say(turn._("Goodbye!"), reply_markup=ReplyKeyboardRemove())
    turn.set_commands(None)


@on()
def text_message(turn: Turn) -> None:
    """Free text: a step of a conversation that expects it, a menu button, or a hint."""
    state = turn.current_conversation()
    if state is not None and state.flow in _TEXT_STEPS:
        _TEXT_STEPS[state.flow](turn, state)
        return
    if turn.person_id is None:
        turn.say(turn._(
            "I don't know you yet. Please open the invite link you got from your coach."
        ))
        return
    action = menu_action(turn.t, turn.text)
    handler = _ACTIONS.get(action or "")
    if handler is not None:
        invoke(turn, handler)
        return
    turn.say(turn._("Sorry, I did not understand that. Please use the menu or /help."),
                   reply_markup=aspirant_menu(turn.t) if turn.has_role(Role.ASPIRANT) else None)


@on()
def unknown_button(turn: Turn) -> None:
    """A button no handler takes: forged, or from a format no longer used."""
    turn.stale()


def register(application: Application) -> None:
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("language", language_command))
    application.add_handler(CallbackQueryHandler(set_language, pattern=cb.ChooseLanguage.matches))
    application.add_handler(CommandHandler("mydata", my_data_command))
    application.add_handler(CommandHandler("stop", stop_command))
    application.add_handler(CallbackQueryHandler(confirm_stop, pattern=cb.ConfirmStop.matches))
    # Registered last: free text and buttons that no other handler took.
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, text_message))
    application.add_handler(CallbackQueryHandler(unknown_button))


# Menu buttons for actions that are commands as well.
_ACTIONS.update({
    "language": language_command,
    "help": help_command,
    "mydata": my_data_command,
    "stop": stop_command,
})
