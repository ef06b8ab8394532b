"""One-tap answers on session reminders, and booking another time.

"I'm coming", "I can't come" (the place is freed, the coach told, other times
offered), "Add to calendar" (an .ics file) and "Show the place" (a map pin), and
the ``rb:<session id>`` buttons that book (or move a booking to) a session. The
booking in the callback data is re-checked to belong to whoever pressed.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler

from bot.errors import DomainError
from bot.i18n import N_
from bot.models import BookingStatus, InfoSession, Role
from bot.presentation import callbacks as cb
from bot.presentation.reminder_buttons import session_answers
from bot.presentation.views import session_button, session_summary
from bot.services.messaging import outbox
from bot.services.people import people
from bot.services.sessions import ics, info_sessions
from handlers.base import Turn, on

ASPIRANT = frozenset({Role.ASPIRANT})


@on(roles=ASPIRANT)
def answer(turn: Turn) -> None:
    assert turn.person is not None
    pressed = turn.pressed(cb.SessionAnswer)
    if pressed is None:
        turn.stale()
        return
    action = pressed.answer
    booking = info_sessions.own_booking(turn.db, turn.person, pressed.booking)
    session = booking.info_session
    if action in ("y", "c") and session.ends_at <= turn.now:
        # Nothing to come to or to put in a calendar any more: say so, and take the
        # buttons away (the place stays useful only while the session is ahead).
        turn.toast(turn._("That information session is over."), alert=True)
        _replace_buttons(turn, None)
        return
    if action == "y":
        info_sessions.confirm_booking(turn.db, turn.now, turn.person, booking.id)
        turn.toast(turn._("Thank you! See you there."))
        # The yes/no row goes; the calendar and map stay useful.
        _replace_buttons(turn, InlineKeyboardMarkup(session_answers(turn.t,
                                                                          booking.id)[1:]))
    elif action == "n":
        info_sessions.cancel_booking(turn.db, turn.now, turn.person, booking.id)
        _replace_buttons(turn, None)
        offer_times(turn, session.job_centre_id, exclude=session.id,
                          intro=N_("Your place has been cancelled and your coach has been "
                                   "told. Choose a new time:"),
                          none=N_("Your place has been cancelled and your coach has been told. "
                                  "There is no other session with free places right now; your "
                                  "coach will contact you about a new time."))
    elif action == "c":
        send_calendar_file(turn, booking.status, session)
    elif action == "m":
        send_place(turn, session)
    else:
        turn.stale()


def _replace_buttons(turn: Turn, markup: InlineKeyboardMarkup | None) -> None:
    """Change the pressed message's buttons so a done answer cannot be pressed again."""
    turn.replace_buttons(markup)


def send_calendar_file(turn: Turn, status: BookingStatus, session: InfoSession) -> None:
    if status != BookingStatus.BOOKED or session.cancelled_at is not None:
        turn.toast(turn._("You are no longer booked on that information session."),
                         alert=True)
        return
    content = ics.session_ics(session, turn.t, turn.now)
    turn.toast()
    turn.send_document(
        content, ics.filename(session),
        caption=turn._("Open the file to add the information session to your calendar."),
    )


def send_place(turn: Turn, session: InfoSession) -> None:
    turn.toast()
    address = session.place or session.job_centre.address
    if session.latitude is None or session.longitude is None:
        turn.say(turn._("The information session is here: {place}", place=address))
        return
    turn.send_venue(session.latitude, session.longitude, session.job_centre.name, address)


def offer_times(turn: Turn, centre_id: int, *, exclude: int | None, intro: str,
                      none: str) -> None:
    sessions = info_sessions.offers(turn.db, turn.now, centre_id, exclude=exclude, limit=6)
    if not sessions:
        turn.say(turn._(none))
        return
    buttons = [[session_button(turn.t, s, cb.BookSession(s.id))] for s in sessions]
    turn.say(turn._(intro), reply_markup=InlineKeyboardMarkup(buttons))


@on(roles=ASPIRANT)
def list_times(turn: Turn) -> None:
    """"Book an information session" from the schedule view."""
    assert turn.person is not None
    enrolment = people.active_enrolment(turn.db, turn.person)
    if enrolment is None:
        turn.stale()
        return
    turn.toast()
    offer_times(turn, enrolment.job_centre_id, exclude=None,
                      intro=N_("Choose a time for your information session:"),
                      none=N_("There is no information session with free places right now. "
                              "Your coach will contact you about a time."))


@on(roles=ASPIRANT)
def rebook(turn: Turn) -> None:
    assert turn.person is not None
    pressed = turn.pressed(cb.BookSession)
    if pressed is None:
        turn.stale()
        return
    enrolment = people.active_enrolment(turn.db, turn.person)
    session = info_sessions.get(turn.db, pressed.session)
    if session is None or enrolment is None or session.job_centre_id != enrolment.job_centre_id:
        turn.stale()
        return
    previous = info_sessions.current_booking(turn.db, turn.now, turn.person)
    try:
        booking = info_sessions.book(turn.db, turn.now, turn.person, session.id)
    except DomainError as problem:
        turn.toast(turn._(problem.message, **problem.params), alert=True)
        offer_times(turn, session.job_centre_id, exclude=session.id,
                          intro=N_("Choose another time:"),
                          none=N_("There is no information session with free places right "
                                  "now. Your coach will contact you about a time."))
        return
    _replace_buttons(turn, None)
    if previous is not None and previous.id == booking.id:
        turn.say(turn._("You are already booked for this information session."))
        return
    turn.say(turn._("You are booked for the information session:\n\n{summary}",
                          summary=session_summary(turn.t, session)),
                   reply_markup=InlineKeyboardMarkup(session_answers(turn.t, booking.id)[1:]))
    _tell_coach(turn, enrolment.coach_id, session)


def _tell_coach(turn: Turn, coach_id: int | None, session: InfoSession) -> None:
    coach = people.get(turn.db, coach_id)
    if coach is None or turn.person is None:
        return
    start = session.starts_at.astimezone(info_sessions.zone_of(session))
    outbox.enqueue(
        turn.db, turn.now, coach,
        N_("{name} has booked the information session on {date} at {time}."),
        kind="coach_notice",
        params={"name": turn.person.display_name or "?", "date": start.date(),
                "time": start.time().replace(tzinfo=None)},
    )


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(answer, pattern=cb.SessionAnswer.matches))
    application.add_handler(CallbackQueryHandler(list_times,
                                                 pattern=cb.OtherSessionTimes.matches))
    application.add_handler(CallbackQueryHandler(rebook, pattern=cb.BookSession.matches))
