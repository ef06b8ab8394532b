"""The home screen, help, language, the menu's text buttons, /mydata and /stop."""

from __future__ import annotations

from collections.abc import Callable

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import keywords
from bot.i18n import LANGUAGES, N_, anchor_rtl_lines
from bot.models import BookingStatus, ConversationState, Role
from bot.presentation import callbacks as cb
from bot.presentation.keyboards import (
    commands,
    commands_for,
    language_picker,
    menu_action,
    menu_for,
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
from bot.services.system import audit, conversations
from handlers.base import Turn, invoke, on

EVERYONE = frozenset(Role)
PAST_UNMARKED = N_("already held, attendance not recorded")
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


# Steps of a flow that take typed text (a flow not listed: all of its steps).
_TEXT_STEP_NAMES: dict[str, frozenset[str]] = {}
# Flows whose steps are answered by buttons: flow -> how to say where the person is.
_WHERE: dict[str, Callable[..., None]] = {}


def text_step_handler(flow: str, *, steps: tuple[str, ...] | None = None):  # type: ignore[no-untyped-def]
    """The function that reads typed text in ``flow`` (at ``steps``, if given: at the
    others, the person is told where they are, see ``where_hint``)."""
    def register(function):  # type: ignore[no-untyped-def]
        _TEXT_STEPS[flow] = function
        if steps is not None:
            _TEXT_STEP_NAMES[flow] = frozenset(steps)
        return function

    return register


def where_hint(flow: str):  # type: ignore[no-untyped-def]
    """``function(turn, state)`` answers text typed at a step of ``flow`` that expects a
    button: it says where the person is and shows (or points to) the buttons to press."""
    def register(function):  # type: ignore[no-untyped-def]
        _WHERE[flow] = function
        return function

    return register


def takes_text(state: ConversationState) -> bool:
    if state.flow not in _TEXT_STEPS:
        return False
    steps = _TEXT_STEP_NAMES.get(state.flow)
    return steps is None or state.step in steps


def show_home(turn: Turn) -> None:
    """What the person may do, in their language: the chat's command menu, the reply
    keyboard and the words, all from their roles (``keyboards.ROLE_COMMANDS``)."""
    if turn.person_id is None:
        return
    roles = turn.roles
    turn.set_commands(commands(turn.t, commands_for(roles)))
    menu = menu_for(turn.t, roles)
    if menu is not None:
        turn.say(turn._("What would you like to do? Use the menu below."), reply_markup=menu)
    else:
        # A keyboard left from a role the person no longer has goes with this message.
        turn.say(_staff_help(turn), reply_markup=ReplyKeyboardRemove())


def command_lines(turn: Turn) -> list[str]:
    """One line per command the person may use: ``/name — what it does``."""
    return [f"{turn.t.command(name)} — {turn._(text)}"
            for name, text in commands_for(turn.roles)]


def _joined(turn: Turn, lines: list[str]) -> str:
    text = "\n".join(lines)
    return anchor_rtl_lines(text) if turn.t.rtl else text


def _staff_help(turn: Turn) -> str:
    return _joined(turn, [turn._("What you can do:"), *command_lines(turn)])


@on(roles=EVERYONE)
def help_command(turn: Turn) -> None:
    menu = menu_for(turn.t, turn.roles)
    if turn.has_role(Role.ASPIRANT):
        lines = [turn._("This bot reminds you of meetings and plan deadlines at the job "
                        "centre, and lets you check in and report absence."), ""]
        lines += command_lines(turn)
        lines += ["", turn._("If something is unclear, talk to your coach.")]
        turn.say(_joined(turn, lines), reply_markup=menu)
    else:
        turn.say(_staff_help(turn))
    # The command menu follows the roles too, also for someone whose roles just changed.
    turn.set_commands(commands(turn.t, commands_for(turn.roles)))


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
            status = BOOKING_STATUS_NAMES[booking.status]
            if booking.status == BookingStatus.BOOKED and session.ends_at <= turn.now:
                # Over, and nobody marked them: "booked" would say it is still to come.
                status = PAST_UNMARKED
            lines.append(f"• {t.short_date(session.starts_at)} {t.time(session.starts_at)} "
                         f"({t._(status)})")
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
            days = t.short_date(absence.first_day)
            if absence.last_day != absence.first_day:
                days += f"–{t.short_date(absence.last_day)}"
            note = f" — {absence.note}" if absence.note else ""
            lines.append(f"• {days}: {t._(ABSENCE_REASON_NAMES[absence.reason])}{note}")
    for follow_up in data.follow_ups:
        assert follow_up.outcome is not None
        lines += ["", t._("Follow-up six months after you left: {outcome}",
                          outcome=t._(follow_ups.OUTCOME_NAMES[follow_up.outcome]))]
    if data.notes:
        lines += ["", t._("Notes your coach made about your attendance:")]
        lines += [f"• {t.short_date(note.day)}: {note.text}" for note in data.notes]
    if data.held_invites:
        lines += ["", t.ngettext(
            "Invite links opened on this account and not used yet: {count}",
            "Invite links opened on this account and not used yet: {count}",
            data.held_invites)]
    if data.waiting_messages:
        lines += ["", t.ngettext("Messages to you waiting to be sent: {count}",
                                 "Messages to you waiting to be sent: {count}",
                                 data.waiting_messages)]
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
    if state is not None:
        _text_in_flow(turn, state)
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
             reply_markup=menu_for(turn.t, turn.roles))


def _text_in_flow(turn: Turn, state: ConversationState) -> None:
    """Typed text while a conversation is open: its step reads it, "cancel" (in any of
    the bot's languages) ends it, and otherwise the person hears where they are."""
    if takes_text(state) and not (keywords.is_cancel(turn.text)
                                  and state.flow in _CANCEL_BY_WORD):
        _TEXT_STEPS[state.flow](turn, state)
        return
    if keywords.is_cancel(turn.text) and state.flow in _CANCEL_BY_WORD:
        conversations.finish(turn.db, state)
        turn.say(turn._("Cancelled. Nothing has changed."),
                 reply_markup=menu_for(turn.t, turn.roles))
        return
    hint = _WHERE.get(state.flow)
    if hint is not None:
        hint(turn, state)
        return
    turn.say(turn._("Please use the buttons above, or press Cancel."))


# Flows a typed "cancel" ends (the aspirant's check-in reads it in its own step; the
# first contact has its own "No, thanks").
_CANCEL_BY_WORD = frozenset({"absence", "admin", "admin_rules", "sessions_admin", "invite",
                             "demographics", "attnote"})


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
