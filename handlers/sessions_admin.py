"""/sessions: information sessions for staff.

Admins create, change and cancel sessions (every change that reaches aspirants is
confirmed first); coaches, team leads and admins record who came. Multi-step input
is a conversation stored in the database (flow ``sessions_admin``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.errors import DomainError
from bot.i18n import LANGUAGES, N_
from bot.models import Booking, BookingStatus, InfoSession, JobCentre, Person, Role
from bot.presentation import callbacks as cb
from bot.presentation.keyboards import language_picker
from bot.presentation.views import session_summary
from bot.services.centres import centres
from bot.services.people import people
from bot.services.plans import milestones
from bot.services.sessions import info_sessions
from bot.services.system import conversations
from handlers.admin import admin_section
from handlers.base import Turn, on
from handlers.menu import text_step_handler, where_hint
from handlers.text_input import column_limit, too_long

FLOW = "sessions_admin"
STAFF = frozenset({Role.ADMIN, Role.COACH, Role.TEAM_LEAD})
ADMIN = frozenset({Role.ADMIN})
DEFAULT_DURATION = timedelta(hours=2)
CAPACITY_CHOICES = (10, 15, 20, 30)
_STATUS_MARK = {BookingStatus.ATTENDED: "✅", BookingStatus.NO_SHOW: "❌",
                BookingStatus.BOOKED: "•"}


def _button(text: str, data: cb.Callback) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data.encode())


def _cancel_row(turn: Turn) -> list[InlineKeyboardButton]:
    return [_button(turn._("Cancel"), cb.SessionAbort())]


def _is_admin_of(person: Person, centre_id: int) -> bool:
    where = people.centres_where(person, Role.ADMIN)
    return None in where or centre_id in where


def _zone(session: InfoSession | JobCentre) -> ZoneInfo:
    centre = session if isinstance(session, JobCentre) else session.job_centre
    return ZoneInfo(centre.timezone)


# --- the list and one session ---------------------------------------------------------------
@on(roles=STAFF)
def sessions_command(turn: Turn) -> None:
    _show_list(turn)


@on(roles=STAFF)
def show_list(turn: Turn) -> None:
    _show_list(turn)


def _show_list(turn: Turn) -> None:
    assert turn.person is not None
    sessions = info_sessions.visible_to(turn.db, turn.now, turn.person)
    rows = []
    for session in sessions[:12]:
        booked = info_sessions.booked_count(turn.db, session.id)
        label = f"{turn.t.short_date(session.starts_at)} {turn.t.time(session.starts_at)} · " \
                f"{booked}/{session.capacity}"
        if session.cancelled_at is not None:
            label = f"🚫 {label}"
        rows.append([_button(label, cb.SessionView(session.id))])
    if turn.has_role(Role.ADMIN):
        rows.append([_button("➕ " + turn._("New information session"), cb.NewSession())])
    text = (turn._("Information sessions (booked/places):") if sessions
            else turn._("There are no information sessions in the coming weeks."))
    turn.edit_or_say(text, reply_markup=InlineKeyboardMarkup(rows) if rows else None)


def _visible_session(turn: Turn, session_id: int | None) -> InfoSession | None:
    """The session, if it is at one of the person's centres (callback data is not trusted)."""
    session = info_sessions.get(turn.db, session_id) if session_id is not None else None
    if session is None or turn.person is None:
        return None
    where = people.centres_where(turn.person, *STAFF)
    return session if None in where or session.job_centre_id in where else None


@on(roles=STAFF)
def view_session(turn: Turn) -> None:
    pressed = turn.pressed(cb.SessionView)
    session = _visible_session(turn, pressed.session if pressed else None)
    if session is None:
        turn.stale()
        return
    _show_session(turn, session)


def _show_session(turn: Turn, session: InfoSession, note: str | None = None) -> None:
    assert turn.person is not None
    t = turn.t
    booked = info_sessions.booked_count(turn.db, session.id)
    lines = [note, ""] if note else []
    lines += [
        session_summary(t, session),
        t._("Language: {language}", language=LANGUAGES.get(session.language, session.language)),
        t._("Booked: {booked} of {capacity}", booked=booked, capacity=session.capacity),
    ]
    if session.cancelled_at is not None:
        lines.append(t._("This session is cancelled."))
    rows = []
    upcoming = session.cancelled_at is None and session.starts_at > turn.now
    if upcoming and _is_admin_of(turn.person, session.job_centre_id):
        rows += [
            [_button("🕒 " + t._("Change time"), cb.ChangeSessionTime(session.id)),
             _button("📍 " + t._("Change place"), cb.ChangeSessionPlace(session.id))],
            [_button("👥 " + t._("Change places"), cb.ChangeSessionPlaces(session.id)),
             _button("🚫 " + t._("Cancel session"), cb.CancelSession(session.id))],
        ]
    if session.cancelled_at is None and session.starts_at <= turn.now:
        rows.append([_button("✅ " + t._("Record attendance"),
                             cb.SessionAttendance(session.id))])
    rows.append([_button("⬅ " + t._("Back"), cb.SessionList())])
    turn.edit_or_say("\n".join(lines), reply_markup=InlineKeyboardMarkup(rows))


# --- creating a session ---------------------------------------------------------------------
def _admin_centres(turn: Turn) -> list[JobCentre]:
    assert turn.person is not None
    where = people.centres_where(turn.person, Role.ADMIN)
    return [c for c in centres.active(turn.db) if None in where or c.id in where]


@on(roles=ADMIN)
def new_session(turn: Turn) -> None:
    choices = _admin_centres(turn)
    if not choices:
        turn.edit_or_say(turn._("There is no job centre yet. Add one first."))
        return
    if len(choices) == 1:
        _ask_when(turn, choices[0])
        return
    rows = [[_button(c.name, cb.NewSessionAt(c.id))] for c in choices[:20]]
    turn.edit_or_say(turn._("At which job centre?"),
                           reply_markup=InlineKeyboardMarkup([*rows, _cancel_row(turn)]))


@on(roles=ADMIN)
def new_at_centre(turn: Turn) -> None:
    pressed = turn.pressed(cb.NewSessionAt)
    centre = next((c for c in _admin_centres(turn) if pressed and c.id == pressed.centre), None)
    if centre is None:
        turn.stale()
        return
    _ask_when(turn, centre)


def _ask_when(turn: Turn, centre: JobCentre) -> None:
    conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, FLOW, "new_when",
                        {"centre": centre.id})
    turn.edit_or_say(
        turn._("When is the session? Send the date and the start time, and the end time if "
               "you like, for example: {example}", example=info_sessions.WHEN_EXAMPLE),
        reply_markup=InlineKeyboardMarkup([_cancel_row(turn)]),
    )


@where_hint(FLOW)
def where_in_sessions(turn: Turn, state) -> None:  # type: ignore[no-untyped-def]
    turn.say(turn._("You are changing information sessions: please choose with the buttons "
                    "above, or press Cancel."),
             reply_markup=InlineKeyboardMarkup([_cancel_row(turn)]))


@text_step_handler(FLOW, steps=("new_when", "new_place", "new_capacity", "edit_when",
                                "edit_place", "edit_capacity"))
def on_text(turn: Turn, state) -> None:  # type: ignore[no-untyped-def]
    if turn.person is None or not turn.has_role(Role.ADMIN):
        conversations.finish(turn.db, state)
        turn.say(turn._("Sorry, this is not available to you."))
        return
    # Checked before the value is read or shown back in the question that follows.
    if too_long(turn, turn.text, _TEXT_LIMITS.get(state.step, _PLACE_LIMIT),
                cancel=cb.SessionAbort()):
        return
    try:
        _TEXT_STEPS[state.step](turn, state)
    except DomainError as problem:
        # The step stays as it was: the admin can send a corrected value.
        turn.say(turn._(problem.message, **problem.params),
                       reply_markup=InlineKeyboardMarkup([_cancel_row(turn)]))


def _new_when(turn: Turn, state) -> None:  # type: ignore[no-untyped-def]
    centre = centres.get(turn.db, state.data["centre"])
    if centre is None:
        conversations.finish(turn.db, state)
        turn.say(turn._("That job centre no longer exists."))
        return
    start, duration = info_sessions.parse_when(turn.text, _zone(centre))
    duration = duration or DEFAULT_DURATION
    info_sessions.check_values(turn.now, start, duration, 1, "sv")
    conversations.advance(turn.db, turn.now, state, "new_place", start=start.isoformat(),
                          minutes=int(duration.total_seconds() // 60))
    rows = []
    if centre.address:
        rows.append([_button(turn._("Use the job centre's address"), cb.PlaceIsAddress())])
    turn.say(turn._("Where is it? Send the address or the room."),
                   reply_markup=InlineKeyboardMarkup([*rows, _cancel_row(turn)]))


def _new_place(turn: Turn, state) -> None:  # type: ignore[no-untyped-def]
    _after_place(turn, state, _clean_place(turn.text))


_PLACE_LIMIT = column_limit(InfoSession.__table__.c.place)
_TEXT_LIMITS = {"new_when": 60, "edit_when": 60, "new_capacity": 10, "edit_capacity": 10}


def _clean_place(text: str) -> str:
    place = text.strip()
    if not place or len(place) > _PLACE_LIMIT:
        raise DomainError(N_("Send the place as text of at most {limit} characters."),
                          limit=_PLACE_LIMIT)
    return place


def _after_place(turn: Turn, state, place: str | None) -> None:  # type: ignore[no-untyped-def]
    conversations.advance(turn.db, turn.now, state, "new_capacity", place=place)
    buttons = [_button(str(n), cb.SessionPlaces(n)) for n in CAPACITY_CHOICES]
    turn.say(turn._("How many places? Send a number or choose one."),
                   reply_markup=InlineKeyboardMarkup([buttons, _cancel_row(turn)]))


@on(roles=ADMIN)
def place_is_address(turn: Turn) -> None:
    state = turn.conversation(FLOW, "new_place")
    if state is None:
        turn.stale()
        return
    turn.edit_or_say(turn._("Place: the job centre's address."))
    _after_place(turn, state, None)


def _new_capacity(turn: Turn, state) -> None:  # type: ignore[no-untyped-def]
    _after_capacity(turn, state, info_sessions.parse_capacity(turn.text))


@on(roles=ADMIN)
def capacity_button(turn: Turn) -> None:
    pressed = turn.pressed(cb.SessionPlaces)
    state = turn.conversation(FLOW, "new_capacity")
    if pressed is None or state is None or pressed.places not in CAPACITY_CHOICES:
        turn.stale()
        return
    capacity = pressed.places
    turn.edit_or_say(turn._("Places: {count}", count=capacity))
    _after_capacity(turn, state, capacity)


def _after_capacity(turn: Turn, state, capacity: int) -> None:  # type: ignore[no-untyped-def]
    conversations.advance(turn.db, turn.now, state, "new_language", capacity=capacity)
    turn.say(turn._("In which language is the session held?"),
                   reply_markup=language_picker(cb.SessionLanguage))


@on(roles=ADMIN)
def language_button(turn: Turn) -> None:
    pressed = turn.pressed(cb.SessionLanguage)
    state = turn.conversation(FLOW, "new_language") if pressed else None
    if pressed is None or state is None:
        turn.stale()
        return
    language = pressed.language
    state = conversations.advance(turn.db, turn.now, state, "confirm_new", language=language)
    centre = centres.get(turn.db, state.data["centre"])
    assert centre is not None
    start = datetime.fromisoformat(state.data["start"])
    end = start + timedelta(minutes=state.data["minutes"])
    t = turn.t
    text = "\n".join([
        t._("Create this information session?"), "",
        t._("{date}, {start}–{end}\n{place}", date=t.date(start), start=t.time(start),
            end=t.time(end), place=state.data["place"] or centre.address),
        t._("Language: {language}", language=LANGUAGES[language]),
        t._("Places: {count}", count=state.data["capacity"]),
        *_day_off_warning(turn, centre.id, start),
    ])
    turn.edit_or_say(text, reply_markup=InlineKeyboardMarkup([
        [_button(t._("Create"), cb.SessionConfirm()), *_cancel_row(turn)]]))


# --- changing a session ---------------------------------------------------------------------
def _managed_session(turn: Turn, session_id: int | None) -> InfoSession | None:
    session = _visible_session(turn, session_id)
    if (session is None or turn.person is None
            or not _is_admin_of(turn.person, session.job_centre_id)
            or session.cancelled_at is not None or session.starts_at <= turn.now):
        return None
    return session


_EDIT_PROMPTS: dict[type[cb.Callback], tuple[str, str]] = {
    cb.ChangeSessionTime: ("edit_when", N_("Send the new date and time, for example: {example}")),
    cb.ChangeSessionPlace: ("edit_place", N_("Send the new place (address or room).")),
    cb.ChangeSessionPlaces: ("edit_capacity", N_("Send the new number of places.")),
}
EDITS = (cb.ChangeSessionTime, cb.ChangeSessionPlace, cb.ChangeSessionPlaces)


@on(roles=ADMIN)
def start_edit(turn: Turn) -> None:
    pressed = turn.pressed(*EDITS)
    session = _managed_session(turn, pressed.session if pressed else None)
    if pressed is None or session is None:
        turn.stale()
        return
    step, prompt = _EDIT_PROMPTS[type(pressed)]
    conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, FLOW, step,
                        {"session": session.id})
    turn.edit_or_say(turn._(prompt, example=info_sessions.WHEN_EXAMPLE),
                           reply_markup=InlineKeyboardMarkup([_cancel_row(turn)]))


def _session_of(turn: Turn, state) -> InfoSession:  # type: ignore[no-untyped-def]
    session = _managed_session(turn, state.data.get("session"))
    if session is None:
        conversations.finish(turn.db, state)
        raise DomainError(N_("That information session can no longer be changed."))
    return session


def _edit_when(turn: Turn, state) -> None:  # type: ignore[no-untyped-def]
    session = _session_of(turn, state)
    start, duration = info_sessions.parse_when(turn.text, _zone(session))
    duration = duration or (session.ends_at - session.starts_at)
    info_sessions.check_values(turn.now, start, duration, session.capacity, session.language)
    changes = {"start": start.isoformat(), "minutes": int(duration.total_seconds() // 60)}
    t = turn.t
    question = t._("Move the session to {date}, {start}–{end}?", date=t.date(start),
                   start=t.time(start), end=t.time(start + duration))
    warning = _day_off_warning(turn, session.job_centre_id, start)
    if warning:
        question += "\n" + warning[1]
    _confirm_edit(turn, state, session, changes, question)


def _day_off_warning(turn: Turn, centre_id: int, start: datetime) -> list[str]:
    """Lines to add to the confirmation if the day is not a working day (a blank one,
    then the warning)."""
    found = info_sessions.day_off(turn.db, centre_id, start)
    if found is None:
        return []
    kind, note = found
    reason = {info_sessions.HOLIDAY: turn._("a public holiday"),
              info_sessions.CLOSED: note or turn._("a closed day"),
              info_sessions.WEEKEND: turn._("a weekend")}[kind]
    return ["", "⚠️ " + turn._("{date} is not a working day ({reason}): the job centre is "
                              "usually closed then.", date=turn.t.date(start), reason=reason)]


def _edit_place(turn: Turn, state) -> None:  # type: ignore[no-untyped-def]
    session = _session_of(turn, state)
    place = _clean_place(turn.text)
    _confirm_edit(turn, state, session, {"place": place},
                        turn._("Change the place to: {place}?", place=place))


def _confirm_edit(turn: Turn, state, session: InfoSession, changes: dict,  # type: ignore[no-untyped-def,type-arg]
                        question: str) -> None:
    booked = info_sessions.booked_count(turn.db, session.id)
    conversations.advance(turn.db, turn.now, state, "confirm_edit", changes=changes)
    told = turn.t.ngettext(
        "{count} booked aspirant will be told and offered other times.",
        "{count} booked aspirants will be told and offered other times.", booked)
    turn.say(f"{question}\n\n{told}", reply_markup=InlineKeyboardMarkup([
        [_button(turn._("Save"), cb.SessionConfirm()), *_cancel_row(turn)]]))


def _edit_capacity(turn: Turn, state) -> None:  # type: ignore[no-untyped-def]
    session = _session_of(turn, state)
    capacity = info_sessions.parse_capacity(turn.text)
    info_sessions.update(turn.db, turn.now, session.id, actor=turn.person, capacity=capacity)
    conversations.finish(turn.db, state)
    _show_session(turn, session, note=turn._("Saved."))


@on(roles=ADMIN)
def start_cancel(turn: Turn) -> None:
    pressed = turn.pressed(cb.CancelSession)
    session = _managed_session(turn, pressed.session if pressed else None)
    if session is None:
        turn.stale()
        return
    conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, FLOW, "confirm_cancel",
                        {"session": session.id})
    booked = info_sessions.booked_count(turn.db, session.id)
    t = turn.t
    told = t.ngettext("{count} booked aspirant will be told and offered other times.",
                      "{count} booked aspirants will be told and offered other times.", booked)
    question = t._("Cancel the information session on {date} at {time}?",
                   date=t.date(session.starts_at), time=t.time(session.starts_at))
    turn.edit_or_say(f"{question}\n\n{told}", reply_markup=InlineKeyboardMarkup([
        [_button(t._("Yes, cancel the session"), cb.SessionConfirm()),
         _button(t._("No"), cb.SessionAbort())]]))


# --- yes / no -----------------------------------------------------------------------------
@on(roles=ADMIN)
def confirm(turn: Turn) -> None:
    state = turn.conversation(FLOW, "confirm_new", "confirm_edit", "confirm_cancel")
    if state is None:
        turn.stale()
        return
    data = state.data
    if state.step == "confirm_new":
        centre = centres.get(turn.db, data["centre"])
        if centre is None:
            raise DomainError(N_("That job centre no longer exists."))
        session = info_sessions.create(
            turn.db, turn.now, job_centre=centre, starts_at=datetime.fromisoformat(data["start"]),
            duration=timedelta(minutes=data["minutes"]), place=data["place"],
            language=data["language"], capacity=data["capacity"], actor=turn.person)
        note = turn._("The information session has been created.")
    elif state.step == "confirm_edit":
        session = _session_of(turn, state)
        changes = data["changes"]
        info_sessions.update(
            turn.db, turn.now, session.id, actor=turn.person,
            starts_at=datetime.fromisoformat(changes["start"]) if "start" in changes else None,
            duration=timedelta(minutes=changes["minutes"]) if "minutes" in changes else None,
            place=changes.get("place"))
        note = turn._("Saved. The booked aspirants are being told.")
    else:
        session = _session_of(turn, state)
        info_sessions.cancel(turn.db, turn.now, session.id, actor=turn.person)
        note = turn._("The information session is cancelled. The booked aspirants are being "
                      "told and offered other times.")
    conversations.finish(turn.db, state)
    _show_session(turn, session, note=note)


@on(roles=STAFF)
def abort(turn: Turn) -> None:
    state = turn.conversation(FLOW)
    conversations.finish(turn.db, state)
    turn.edit_or_say(turn._("Nothing was changed."))


# --- attendance -----------------------------------------------------------------------------
def _recordable(turn: Turn, session: InfoSession) -> list[Booking]:
    """The bookings this person may record: all for admins and team leads, else their own
    aspirants'."""
    assert turn.person is not None
    return info_sessions.recordable_bookings(turn.db, turn.person, session)


@on(roles=STAFF)
def attendance(turn: Turn) -> None:
    pressed = turn.pressed(cb.SessionAttendance)
    session = _visible_session(turn, pressed.session if pressed else None)
    if session is None or session.cancelled_at is not None or session.starts_at > turn.now:
        turn.stale()
        return
    _show_attendance(turn, session)


def _show_attendance(turn: Turn, session: InfoSession) -> None:
    t = turn.t
    bookings = _recordable(turn, session)
    lines = [t._("Who came to the information session on {date} at {time}?",
                 date=t.date(session.starts_at), time=t.time(session.starts_at)), ""]
    rows = []
    for booking in bookings:
        aspirant = people.get(turn.db, booking.aspirant_id)
        name = (aspirant.display_name if aspirant else None) or "?"
        lines.append(f"{_STATUS_MARK.get(booking.status, '•')} {name}")
        rows.append([_button(f"✅ {name}"[:60], cb.BookingCame(booking.id)),
                     _button(f"❌ {name}"[:60], cb.BookingNoShow(booking.id))])
    if not bookings:
        lines.append(t._("No one you follow was booked on this session."))
    else:
        lines += ["", t._("✅ came · ❌ did not come")]
    rows.append([_button("⬅ " + t._("Back"), cb.SessionView(session.id))])
    turn.edit_or_say("\n".join(lines), reply_markup=InlineKeyboardMarkup(rows))


@on(roles=STAFF)
def record(turn: Turn) -> None:
    pressed = turn.pressed(cb.BookingCame, cb.BookingNoShow)
    came = isinstance(pressed, cb.BookingCame)
    booking = info_sessions.booking(turn.db, pressed.booking) if pressed is not None else None
    if booking is None or booking.id not in {b.id for b in _recordable(turn,
                                                                      booking.info_session)}:
        turn.stale()
        return
    before = booking.status
    milestones.record_booking_attendance(turn.db, turn.now, booking.id, came, actor=turn.person)
    turn.toast(turn._("Saved."))
    if booking.status != before:  # pressed twice: the list already shows it
        _show_attendance(turn, booking.info_session)


_TEXT_STEPS = {
    "new_when": _new_when,
    "new_place": _new_place,
    "new_capacity": _new_capacity,
    "edit_when": _edit_when,
    "edit_place": _edit_place,
    "edit_capacity": _edit_capacity,
}


def _not_expected(turn: Turn, state) -> None:  # type: ignore[no-untyped-def]
    turn.say(turn._("Please use the buttons above, or press Cancel."),
                   reply_markup=InlineKeyboardMarkup([_cancel_row(turn)]))


for _step in ("new_language", "confirm_new", "confirm_edit", "confirm_cancel"):
    _TEXT_STEPS[_step] = _not_expected

admin_section(N_("Information sessions"), cb.SessionList())


def register(application: Application) -> None:
    application.add_handler(CommandHandler("sessions", sessions_command))
    application.add_handler(CallbackQueryHandler(show_list, pattern=cb.SessionList.matches))
    application.add_handler(CallbackQueryHandler(view_session, pattern=cb.SessionView.matches))
    application.add_handler(CallbackQueryHandler(new_session, pattern=cb.NewSession.matches))
    application.add_handler(CallbackQueryHandler(new_at_centre, pattern=cb.NewSessionAt.matches))
    application.add_handler(CallbackQueryHandler(place_is_address,
                                                 pattern=cb.PlaceIsAddress.matches))
    application.add_handler(CallbackQueryHandler(capacity_button,
                                                 pattern=cb.SessionPlaces.matches))
    application.add_handler(CallbackQueryHandler(language_button,
                                                 pattern=cb.SessionLanguage.matches))
    application.add_handler(CallbackQueryHandler(start_edit, pattern=cb.any_of(*EDITS)))
    application.add_handler(CallbackQueryHandler(start_cancel, pattern=cb.CancelSession.matches))
    application.add_handler(CallbackQueryHandler(confirm, pattern=cb.SessionConfirm.matches))
    application.add_handler(CallbackQueryHandler(abort, pattern=cb.SessionAbort.matches))
    application.add_handler(CallbackQueryHandler(attendance,
                                                 pattern=cb.SessionAttendance.matches))
    application.add_handler(CallbackQueryHandler(record, pattern=cb.any_of(cb.BookingCame,
                                                                          cb.BookingNoShow)))
