"""The aspirant's side of attendance: check in (code, QR link, location) and report absence."""

from __future__ import annotations

from datetime import date, datetime

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.errors import DomainError
from bot.models import AbsenceReason, ConversationState, LocationRule, Role
from bot.presentation import attendance_views as views
from bot.presentation import callbacks as cb
from bot.presentation.keyboards import aspirant_menu, menu_action
from bot.services.attendance import absences, checkin, checkin_codes
from bot.services.people.identity import ActiveEnrolment
from bot.services.system import conversations
from handlers import menu
from handlers.base import Turn, invoke, on
from handlers.text_input import ask_again, close_step, too_long

CHECKIN_FLOW = "checkin"
ABSENCE_FLOW = "absence"
ASPIRANT = frozenset({Role.ASPIRANT})


# --- check-in -----------------------------------------------------------------------------
def _location_keyboard(turn: Turn, *, pins: bool) -> ReplyKeyboardMarkup:
    """Cancel, and where pins count the button that sends one. Where they do not, the
    button is left out: it sends a pin, and only a live location (shared from the
    attachment menu) shows the aspirant is at the job centre."""
    rows = [[KeyboardButton("✖ " + turn._("Cancel"))]]
    if pins:
        rows.insert(0, [KeyboardButton("📍 " + turn._("Share my location"),
                                       request_location=True)])
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def _proven(turn: Turn, state: ConversationState | None) -> list[str]:
    """Proofs given earlier in this check-in, if recent enough to still count."""
    if state is None or state.flow != CHECKIN_FLOW or not state.data.get("proven_at"):
        return []
    proven_at = datetime.fromisoformat(state.data["proven_at"])
    if turn.now - proven_at > checkin.PROOF_VALID_FOR:
        return []
    return list(state.data.get("proven", []))


@menu.menu_action_handler("checkin")
@on(roles=ASPIRANT)
def checkin_command(turn: Turn) -> None:
    assert turn.person_id is not None
    found = checkin.opening(turn.db, turn.now, turn.person_id, enrolment=_enrolment(turn))
    conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, CHECKIN_FLOW, "code")
    rule = found.location_rule
    pins = found.policy.accept_location_pin
    keyboard = _location_keyboard(turn, pins=pins)
    if rule == LocationRule.OFF:
        turn.say(turn._("Please type the 6-digit code shown at the job centre, or scan its "
                              "QR code with your phone's camera."))
    elif rule == LocationRule.ALTERNATIVE and pins:
        turn.say(turn._("Please type the 6-digit code shown at the job centre, or share "
                              "your location with the button below."), reply_markup=keyboard)
    elif rule == LocationRule.ALTERNATIVE:
        turn.say(turn._("Please type the 6-digit code shown at the job centre, or share your "
                        "live location: tap 📎, then Location, then Share My Live Location."),
                 reply_markup=keyboard)
    elif pins:
        turn.say(turn._("Please type the 6-digit code shown at the job centre, and share "
                              "your location with the button below."), reply_markup=keyboard)
    else:
        turn.say(turn._("Please type the 6-digit code shown at the job centre, and share your "
                        "live location: tap 📎, then Location, then Share My Live Location."),
                 reply_markup=keyboard)


@on(roles=ASPIRANT)
def checkin_link(turn: Turn) -> None:
    """``/start ci_<centre>_<code>``: the QR code at the venue, scanned."""
    param = checkin_codes.parse_start_param(turn.args[0] if turn.args else "")
    state = turn.conversation(CHECKIN_FLOW)
    if param is None:
        turn.say(turn._("This check-in link is not valid. Please scan the code shown at "
                              "the job centre again."))
        return
    _attempt(turn, state, code=param.code, centre_id=param.job_centre_id)


@menu.text_step_handler(CHECKIN_FLOW)
def checkin_text(turn: Turn, state: ConversationState) -> None:
    if not turn.has_role(Role.ASPIRANT):
        conversations.finish(turn.db, state)
        return
    if _left_flow(turn, state):
        return
    _attempt(turn, state, code=turn.text)


@on(roles=ASPIRANT)
def shared_location(turn: Turn) -> None:
    """A location sent in the chat: live, or a pin (a venue is a pin too). A forwarded one
    is someone else's, and counts as a pin at most."""
    message = turn.update.message
    location = message.location if message is not None else None
    if location is None:
        return
    # As sent by Telegram (seconds); read so, not through the attribute whose type changes.
    live_period = location.to_dict().get("live_period")
    shared = checkin.SharedLocation(location.latitude, location.longitude,
                                    live_period=int(live_period) if live_period else None,
                                    forwarded=message.forward_origin is not None)  # type: ignore[union-attr]
    _attempt(turn, turn.conversation(CHECKIN_FLOW), location=shared)


def _attempt(turn: Turn, state: ConversationState | None, *, code: str | None = None,
                   location: checkin.SharedLocation | None = None,
                   centre_id: int | None = None) -> None:
    assert turn.person_id is not None
    try:
        result = checkin.check_in(turn.db, turn.now, turn.person_id,
                                  enrolment=_enrolment(turn), job_centre_id=centre_id,
                                  code=code, location=location,
                                  proven_before=_proven(turn, state))
    except checkin.BadCode as bad:
        if bad.guess:
            _bad_code(turn, turn._(bad.message, **bad.params))
        else:
            turn.say(turn._(bad.message, **bad.params))
        return
    except checkin.NeedsProof as need:
        conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, CHECKIN_FLOW, "code",
                            {"proven": sorted(need.proven), "proven_at": turn.now.isoformat()})
        markup = (_location_keyboard(turn, pins=need.pins_count)
                  if need.missing == checkin.LOCATION else None)
        turn.say(turn._(need.message), reply_markup=markup)
        return
    except DomainError as refusal:
        # Nothing to check in to (closed, too late, ...): the check-in ends here.
        _end_checkin(turn, state)
        turn.say(turn._(refusal.message, **refusal.params),
                       reply_markup=aspirant_menu(turn.t))
        return
    _end_checkin(turn, state)
    turn.say(_welcome(turn, result), reply_markup=aspirant_menu(turn.t))


def _enrolment(turn: Turn) -> ActiveEnrolment | None:
    """The current enrolment as read with the person (None: read it again)."""
    return turn.identity.enrolment if turn.identity is not None else None


def _end_checkin(turn: Turn, state: ConversationState | None) -> None:
    if state is not None and state.flow == CHECKIN_FLOW:
        conversations.finish(turn.db, state)


def _bad_code(turn: Turn, text: str) -> None:
    """Count the wrong code even though nothing else is kept, then say what was wrong."""
    assert turn.person_id is not None
    checkin.count_bad_code(turn.db, turn.now, turn.person_id)
    turn.db.commit()
    turn.say(text)


def _welcome(turn: Turn, result: checkin.CheckIn) -> str:
    if result.daily and result.session is not None:
        return "✅ " + turn._("You are checked in for today and for the information session. "
                             "Welcome!")
    if result.session is not None:
        return "✅ " + turn._("Welcome to the information session! Your attendance is recorded.")
    if result.late:
        return "✅ " + turn._("You are checked in for today. Check-in ended at {time}, so please "
                             "try to come on time.", time=turn.t.time(result.closes_at))
    return "✅ " + turn._("You are checked in for today, {time}. Have a good day!",
                         time=turn.t.time(turn.now))


def _left_flow(turn: Turn, state: ConversationState) -> bool:
    """A menu button or "Cancel" typed during a step ends the flow (and runs the button)."""
    cancel = turn.text in ("✖ " + turn._("Cancel"), turn._("Cancel"))
    action = menu_action(turn.t, turn.text)
    if not cancel and action is None:
        return False
    conversations.finish(turn.db, state)
    if action is not None:
        invoke(turn, menu.text_message)
    else:
        turn.say(turn._("Cancelled."), reply_markup=aspirant_menu(turn.t))
    return True


# --- absence reports ----------------------------------------------------------------------
def _when_keyboard(turn: Turn, days: list[date], today: date) -> InlineKeyboardMarkup:
    rows = []
    if days and days[0] == today:
        rows.append([InlineKeyboardButton(turn._("Today"),
                                          callback_data=cb.AbsenceWhen("t").encode())])
    rows.append([InlineKeyboardButton(turn._("Another day"),
                                      callback_data=cb.AbsenceWhen("d").encode()),
                 InlineKeyboardButton(turn._("Several days"),
                                      callback_data=cb.AbsenceWhen("r").encode())])
    rows.append([InlineKeyboardButton(turn._("Cancel"),
                                      callback_data=cb.AbsenceCancel().encode())])
    return InlineKeyboardMarkup(rows)


def _days_keyboard(turn: Turn, days: list[date]) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(turn.t.short_date(day),
                                    callback_data=cb.AbsenceDay(day).encode())
               for day in days]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton(turn._("Cancel"),
                                      callback_data=cb.AbsenceCancel().encode())])
    return InlineKeyboardMarkup(rows)


@menu.menu_action_handler("absence")
@on(roles=ASPIRANT)
def absence_command(turn: Turn) -> None:
    assert turn.person is not None
    enrolment = checkin.enrolment_of(turn.db, turn.person)
    # Before the requirement starts there is nothing to report: say so now, not at the end.
    absences.first_reportable_day(turn.db, turn.now, enrolment)
    reasons = absences.offered_reasons(turn.db, turn.now, enrolment.job_centre_id)
    conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, ABSENCE_FLOW, "reason")
    turn.say(turn._("Why will you be absent?"),
                   reply_markup=views.reason_keyboard(turn.t, cb.AbsenceReason,
                                                      cancel=cb.AbsenceCancel(),
                                                      reasons=[r.value for r in reasons]))


@on(roles=ASPIRANT)
def absence_button(turn: Turn) -> None:
    assert turn.person is not None
    pressed = turn.pressed(cb.AbsenceCancel, cb.AbsenceReason, cb.AbsenceWhen, cb.AbsenceDay)
    if isinstance(pressed, cb.AbsenceCancel):
        conversations.finish(turn.db, turn.conversation(ABSENCE_FLOW, "reason", "note", "when",
                                                        "day", "first", "last", "why_note"))
        turn.edit_or_say(turn._("Nothing was reported."))
        return
    if isinstance(pressed, cb.AbsenceReason):
        state = turn.conversation(ABSENCE_FLOW, "reason")
        reason = absences.REASON_CODES.get(pressed.reason)
        if state is None or reason is None:
            turn.stale()
            return
        if reason == AbsenceReason.OTHER:
            conversations.advance(turn.db, turn.now, state, "note", reason=reason.value)
            turn.edit_or_say(turn._("Please write the reason in a few words:"))
            return
        conversations.advance(turn.db, turn.now, state, "when", reason=reason.value)
        _ask_when(turn, edit=True)
        return
    if isinstance(pressed, cb.AbsenceWhen):
        value = pressed.when
        state = turn.conversation(ABSENCE_FLOW, "when")
        if state is None:
            turn.stale()
            return
        enrolment = checkin.enrolment_of(turn.db, turn.person)
        if value == "t":
            today = absences.today_of(turn.db, turn.now, enrolment)
            _save_absence(turn, state, today, today)
            return
        days = absences.selectable_days(turn.db, turn.now, enrolment)
        step = "day" if value == "d" else "first"
        conversations.advance(turn.db, turn.now, state, step)
        question = (turn._("Which day?") if step == "day"
                    else turn._("From which day?"))
        turn.edit_or_say(question, reply_markup=_days_keyboard(turn, days))
        return
    if isinstance(pressed, cb.AbsenceDay):
        day = pressed.day
        state = turn.conversation(ABSENCE_FLOW, "day", "first", "last")
        if state is None:
            turn.stale()
            return
        if state.step == "day":
            _save_absence(turn, state, day, day)
        elif state.step == "first":
            conversations.advance(turn.db, turn.now, state, "last", first=day.isoformat())
            enrolment = checkin.enrolment_of(turn.db, turn.person)
            days = [d for d in absences.selectable_days(turn.db, turn.now, enrolment, count=30)
                    if d >= day][:12]
            turn.edit_or_say(turn._("Until which day (the last day you are away)?"),
                                   reply_markup=_days_keyboard(turn, days))
        else:
            _save_absence(turn, state, date.fromisoformat(state.data["first"]), day)
        return
    turn.stale()


@menu.where_hint(ABSENCE_FLOW)
def where_in_absence(turn: Turn, state: ConversationState) -> None:
    """Text typed where a button is expected: the question again, with its buttons."""
    if not turn.has_role(Role.ASPIRANT):
        conversations.finish(turn.db, state)
        return
    if _left_flow(turn, state):
        return
    where = turn._("You are reporting an absence: please answer with the buttons below, "
                   "or press Cancel.")
    assert turn.person is not None
    enrolment = checkin.enrolment_of(turn.db, turn.person)
    if state.step == "reason":
        markup = views.reason_keyboard(turn.t, cb.AbsenceReason, cancel=cb.AbsenceCancel())
        turn.say(where + "\n\n" + turn._("Why will you be absent?"), reply_markup=markup)
    elif state.step == "when":
        days = absences.selectable_days(turn.db, turn.now, enrolment)
        markup = _when_keyboard(turn, days, absences.today_of(turn.db, turn.now, enrolment))
        turn.say(where + "\n\n" + turn._("When?"), reply_markup=markup)
    elif state.step in ("day", "first", "last"):
        if state.step == "last":
            first = date.fromisoformat(state.data["first"])
            days = [d for d in absences.selectable_days(turn.db, turn.now, enrolment, count=30)
                    if d >= first][:12]
            question = turn._("Until which day (the last day you are away)?")
        else:
            days = absences.selectable_days(turn.db, turn.now, enrolment)
            question = (turn._("Which day?") if state.step == "day"
                        else turn._("From which day?"))
        turn.say(where + "\n\n" + question, reply_markup=_days_keyboard(turn, days))
    else:
        turn.say(where)


def _ask_when(turn: Turn, *, edit: bool) -> None:
    assert turn.person is not None
    enrolment = checkin.enrolment_of(turn.db, turn.person)
    days = absences.selectable_days(turn.db, turn.now, enrolment)
    markup = _when_keyboard(turn, days, absences.today_of(turn.db, turn.now, enrolment))
    if edit:
        turn.edit_or_say(turn._("When?"), reply_markup=markup)
    else:
        turn.say(turn._("When?"), reply_markup=markup)


def _save_absence(turn: Turn, state: ConversationState, first: date, last: date) -> None:
    assert turn.person is not None
    reason = AbsenceReason(state.data["reason"])
    absences.report(turn.db, turn.now, turn.person, reason, first, last, state.data.get("note"))
    conversations.finish(turn.db, state)
    label = views.reason_label(turn.t, reason)
    if first == last:
        text = turn._("Thank you. Your absence on {date} ({reason}) is reported, and your coach "
                      "has been told.", date=first, reason=label)
    else:
        text = turn._("Thank you. Your absence from {first} to {last} ({reason}) is reported, "
                      "and your coach has been told.", first=first, last=last, reason=label)
    turn.edit_or_say(text)


@menu.text_step_handler(ABSENCE_FLOW, steps=("note", "why_note"))
def absence_text(turn: Turn, state: ConversationState) -> None:
    if not turn.has_role(Role.ASPIRANT):
        conversations.finish(turn.db, state)
        return
    if _left_flow(turn, state):
        return
    if state.step not in ("note", "why_note"):
        turn.say(turn._("Please use the buttons above, or Cancel."))
        return
    prompt = turn._("Please write the reason in a few words:")
    if too_long(turn, turn.text, absences.NOTE_LIMIT, prompt=prompt, cancel=cb.AbsenceCancel()):
        return
    if not turn.text:
        ask_again(turn, prompt, cancel=cb.AbsenceCancel())
        return
    if state.step == "why_note":
        assert turn.person is not None
        try:
            with turn.db.begin_nested():
                absences.explain(turn.db, turn.now, turn.person, int(state.data["record"]),
                                 AbsenceReason.OTHER, turn.text)
        except DomainError as problem:
            # Settled meanwhile, or no longer theirs: there is nothing left to explain.
            close_step(turn, state, problem)
            return
        conversations.finish(turn.db, state)
        turn.say(turn._("Thank you. Your coach has been told."),
                       reply_markup=aspirant_menu(turn.t))
        return
    note = absences.clean_note(AbsenceReason.OTHER, turn.text)
    conversations.advance(turn.db, turn.now, state, "when", note=note)
    _ask_when(turn, edit=False)


@on(roles=ASPIRANT)
def why_button(turn: Turn) -> None:
    """The answer to "why were you absent?" on one attendance record."""
    assert turn.person is not None
    pressed = turn.pressed(cb.WhyAbsent)
    reason = absences.REASON_CODES.get(pressed.reason) if pressed is not None else None
    if pressed is None or reason is None:
        turn.stale()
        return
    record = pressed.record
    try:
        if reason == AbsenceReason.OTHER:
            absences.check_explainable(turn.db, turn.person, record)
            conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, ABSENCE_FLOW,
                                "why_note", {"record": record})
            turn.say(turn._("Please write the reason in a few words:"))
            return
        absences.explain(turn.db, turn.now, turn.person, record, reason)
    except absences.NotExplainable as closed:
        # The question is closed: say why, and take its buttons away.
        turn.toast()
        turn.edit_or_say(turn._(closed.message, **closed.params))
        return
    turn.edit_or_say(turn._("Thank you. Your coach has been told: {reason}.",
                                  reason=views.reason_label(turn.t, reason)))


def register(application: Application) -> None:
    """Registered before onboarding: its /start must not see check-in links."""
    application.add_handler(CommandHandler("start", checkin_link,
                                           filters=filters.Regex(r"^/start ci_")))
    application.add_handler(CommandHandler("checkin", checkin_command))
    application.add_handler(CommandHandler("absence", absence_command))
    application.add_handler(MessageHandler(filters.LOCATION, shared_location))
    application.add_handler(CallbackQueryHandler(absence_button, pattern=cb.any_of(
        cb.AbsenceCancel, cb.AbsenceReason, cb.AbsenceWhen, cb.AbsenceDay)))
    application.add_handler(CallbackQueryHandler(why_button, pattern=cb.WhyAbsent.matches))
