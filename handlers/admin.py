"""/admin: job centres, staff, closed days and settings, changed in chat.

Every change goes the same way: the admin picks what to change, sends the new
value, sees a preview and presses Save. The value is validated twice (on input,
and by the service when saved), and every save is written to the audit log.
Other modules add their own sections to the main menu with ``admin_section``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.calendar import local_date
from bot.errors import DomainError, NotAllowed
from bot.i18n import N_, Translator
from bot.models import ClosedDay, JobCentre, Person, Role
from bot.presentation import callbacks as cb
from bot.presentation.views import ROLE_NOUNS
from bot.services.centres import admin_access, centres, closed_days, org_settings
from bot.services.people import people
from bot.services.reminders import rules as reminder_rules
from bot.services.system import conversations
from handlers.base import STALE_BUTTON, Turn, on
from handlers.menu import text_step_handler, where_hint
from handlers.text_input import column_limit, too_long

FLOW = "admin"
ADMIN = frozenset({Role.ADMIN})
_centre = JobCentre.__table__.c

# Sections other modules add to the main menu: (label msgid, the section's button).
_SECTIONS: list[tuple[str, cb.Callback]] = []


def admin_section(label: str, opens: cb.Callback) -> None:
    if (label, opens) not in _SECTIONS:
        _SECTIONS.append((label, opens))


@dataclass(frozen=True)
class Field:
    """Something an admin can change by sending a value."""

    prompt: str
    parse: Callable[[Session, str], Any]
    preview: Callable[[Translator, Any], str]
    apply: Callable[[Session, Any, Person, int | None, Any], None]
    back: Callable[[int], cb.Callback]  # the view to return to, given the target id
    # The most characters a value may have; longer is refused before it is read.
    limit: int = 100


def _text(t: Translator, value: Any) -> str:
    return str(value) if value not in (None, "") else "—"


def _location_preview(t: Translator, value: Any) -> str:
    return "—" if value[0] is None else f"{value[0]}, {value[1]}"


_CLOSED_DAY_NOTE = column_limit(ClosedDay.__table__.c.note)


def _closed_day(db: Session, text: str) -> dict[str, str]:
    day_text, _, note = text.strip().partition(" ")
    note = note.strip()
    if len(note) > _CLOSED_DAY_NOTE:
        raise DomainError(N_("The note may be at most {limit} characters."),
                          limit=_CLOSED_DAY_NOTE)
    return {"day": closed_days.parse_day(day_text).isoformat(), "note": note}


def _new_centre(db: Session, now: Any, actor: Person, name: str) -> None:
    centres.create(db, now, name=name, actor=actor)
    # A new installation starts with the recommended reminders (once; admins change them).
    reminder_rules.install_defaults(db, now, actor=actor)


FIELDS: dict[str, Field] = {
    "cnew": Field(
        N_("Send the name of the new job centre."),
        lambda db, text: text.strip(),
        _text,
        lambda db, now, actor, target, value: _new_centre(db, now, actor, value),
        lambda target: cb.AdminCentres(),
        column_limit(_centre.name),
    ),
    "cname": Field(
        N_("Send the new name."),
        lambda db, text: text.strip(),
        _text,
        lambda db, now, actor, target, value: centres.rename(
            db, now, admin_access.centre(db, target), value, actor=actor),
        cb.AdminCentre,
        column_limit(_centre.name),
    ),
    "caddr": Field(
        N_("Send the new address (street, postcode and area)."),
        lambda db, text: text.strip(),
        _text,
        lambda db, now, actor, target, value: centres.set_address(
            db, now, admin_access.centre(db, target), value, actor=actor),
        cb.AdminCentre,
        column_limit(_centre.address),
    ),
    "cloc": Field(
        N_("Send the location as latitude, longitude (e.g. 59.4032, 17.9448), or - for none."),
        lambda db, text: list(centres.parse_location(text)),
        _location_preview,
        lambda db, now, actor, target, value: centres.set_location(
            db, now, admin_access.centre(db, target), value[0], value[1], actor=actor),
        cb.AdminCentre,
    ),
    "ctz": Field(
        N_("Send the time zone, e.g. Europe/Stockholm."),
        lambda db, text: text.strip(),
        _text,
        lambda db, now, actor, target, value: centres.set_timezone(
            db, now, admin_access.centre(db, target), value, actor=actor),
        cb.AdminCentre,
        column_limit(_centre.timezone),
    ),
    "cdadd": Field(
        N_("Send the closed day as YYYY-MM-DD, optionally followed by a note."),
        _closed_day,
        lambda t, value: f"{t.date(closed_days.parse_day(value['day']))} {value['note']}".strip(),
        lambda db, now, actor, target, value: closed_days.add(
            db, now, admin_access.centre(db, target), closed_days.parse_day(value["day"]), value["note"],
            actor=actor),
        cb.AdminClosedDays,
        len("YYYY-MM-DD ") + _CLOSED_DAY_NOTE,
    ),
    "ret": Field(
        N_("Send the number of days personal data is kept after an aspirant has left "
           "(30–3650)."),
        lambda db, text: org_settings.DEFINITIONS[org_settings.RETENTION_DAYS][1](text),
        _text,
        lambda db, now, actor, target, value: org_settings.set_value(
            db, now, org_settings.RETENTION_DAYS, value, actor=actor),
        lambda target: cb.AdminSettings(),
    ),
}


# --- views ----------------------------------------------------------------------------------
def _button(t: Translator, label: str, data: cb.Callback, **params: Any
            ) -> InlineKeyboardButton:
    return InlineKeyboardButton(t._(label, **params), callback_data=data.encode())


def _show(turn: Turn, text: str, rows: list[list[InlineKeyboardButton]]) -> None:
    turn.edit_or_say(text, reply_markup=InlineKeyboardMarkup(rows))


@on(roles=ADMIN)
def admin_command(turn: Turn) -> None:
    conversations.finish(turn.db, conversations.current(turn.db, turn.now, turn.user_id,
                                                        turn.chat_id))
    turn.say(turn._("Administration: what do you want to change?"),
                   reply_markup=InlineKeyboardMarkup(_main_rows(turn.t)))


def _main_rows(t: Translator) -> list[list[InlineKeyboardButton]]:
    rows = [[_button(t, N_("Job centres"), cb.AdminCentres())],
            [_button(t, N_("Settings"), cb.AdminSettings())]]
    rows += [[_button(t, label, opens)] for label, opens in _SECTIONS]
    return rows


def _main(turn: Turn) -> None:
    _show(turn, turn._("Administration: what do you want to change?"),
                _main_rows(turn.t))


def _centres(turn: Turn) -> None:
    allowed = admin_access.admin_centres(turn.person)
    listed = admin_access.changeable_centres(turn.db, turn.person)
    rows = [[InlineKeyboardButton(
        c.name if c.disabled_at is None else f"{c.name} ({turn._('disabled')})",
        callback_data=cb.AdminCentre(c.id).encode())] for c in listed]
    if allowed is None:
        rows.append([_button(turn.t, N_("Add a job centre"), cb.AdminEdit("cnew", 0))])
    rows.append([_button(turn.t, N_("Back"), cb.AdminMenu())])
    _show(turn, turn._("Job centres:"), rows)


def _centre_view(turn: Turn, centre_id: int) -> None:
    admin_access.require(turn.person, centre_id)
    centre = admin_access.centre(turn.db, centre_id)
    t = turn.t
    lines = [
        centre.name,
        t._("Address: {address}", address=centre.address or "—"),
        t._("Location: {location}",
            location=_location_preview(t, (centre.latitude, centre.longitude))),
        t._("Time zone: {zone}", zone=centre.timezone),
    ]
    if centre.disabled_at is not None:
        lines.append(t._("Disabled since {date}", date=t.date(centre.disabled_at)))
    rows = [
        [_button(t, N_("Name"), cb.AdminEdit("cname", centre.id)),
         _button(t, N_("Address"), cb.AdminEdit("caddr", centre.id))],
        [_button(t, N_("Location"), cb.AdminEdit("cloc", centre.id)),
         _button(t, N_("Time zone"), cb.AdminEdit("ctz", centre.id))],
        [_button(t, N_("Staff"), cb.AdminStaff(centre.id)),
         _button(t, N_("Closed days"), cb.AdminClosedDays(centre.id))],
        [_button(t, N_("Enable") if centre.disabled_at else N_("Disable"),
                 cb.AdminToggle("cdis", centre.id))],
        [_button(t, N_("Back"), cb.AdminCentres())],
    ]
    _show(turn, "\n".join(lines), rows)


def _closed_days_view(turn: Turn, centre_id: int) -> None:
    admin_access.require(turn.person, centre_id)
    centre = admin_access.centre(turn.db, centre_id)
    today = local_date(turn.now, turn.t.zone)
    days = closed_days.upcoming(turn.db, centre.id, today)
    lines = [turn._("{centre}: closed days", centre=centre.name)]
    lines += [f"• {turn.t.date(d.day)} {d.note}".rstrip() for d in days] or [turn._("None.")]
    rows = [[InlineKeyboardButton(f"✖ {turn.t.short_date(d.day)}",
                                  callback_data=cb.AdminToggle("cdrm", d.id).encode())]
            for d in days[:20]]
    rows.append([_button(turn.t, N_("Add a closed day"), cb.AdminEdit("cdadd", centre.id))])
    rows.append([_button(turn.t, N_("Back"), cb.AdminCentre(centre.id))])
    _show(turn, "\n".join(lines), rows)


def _staff_view(turn: Turn, centre_id: int) -> None:
    admin_access.require(turn.person, centre_id)
    centre = admin_access.centre(turn.db, centre_id)
    staff = people.staff_of(turn.db, centre.id)
    lines = [turn._("{centre}: staff", centre=centre.name)]
    lines += [f"• {p.display_name or '?'} — {turn._(ROLE_NOUNS[g.role])}" for p, g in staff]
    if not staff:
        lines.append(turn._("None."))
    lines.append(turn._("To add someone, send /invite."))
    rows = [[InlineKeyboardButton(
        f"✖ {p.display_name or '?'} ({turn._(ROLE_NOUNS[g.role])})",
        callback_data=cb.AdminToggle("rv", g.id).encode())] for p, g in staff[:20]]
    rows.append([_button(turn.t, N_("Back"), cb.AdminCentre(centre.id))])
    _show(turn, "\n".join(lines), rows)


def _settings_view(turn: Turn) -> None:
    values = org_settings.all_values(turn.db)
    t = turn.t
    lines = [
        t._("Settings"),
        t._("Personal data is kept {days} days after an aspirant has left.",
            days=values[org_settings.RETENTION_DAYS]),
        t._("Gender and age band for figures: {answer}",
            answer=t._("on") if values[org_settings.RECORD_GENDER_AND_AGE] else t._("off")),
    ]
    rows = [[_button(t, N_("Retention period"), cb.AdminEdit("ret", 0))],
            [_button(t, N_("Gender and age band"), cb.AdminToggle("gender", 0))],
            [_button(t, N_("Back"), cb.AdminMenu())]]
    _show(turn, "\n".join(lines), rows)


# --- navigation -------------------------------------------------------------------------
NAVIGATION = (cb.AdminMenu, cb.AdminCentres, cb.AdminSettings, cb.AdminCentre,
              cb.AdminClosedDays, cb.AdminStaff)


@on(roles=ADMIN)
def navigate(turn: Turn) -> None:
    match turn.pressed(*NAVIGATION):
        case cb.AdminMenu():
            _main(turn)
        case cb.AdminCentres():
            _centres(turn)
        case cb.AdminSettings():
            if admin_access.admin_centres(turn.person) is not None:
                raise NotAllowed(N_("Sorry, this is not available to you."))
            _settings_view(turn)
        case cb.AdminCentre(centre):
            _centre_view(turn, centre)
        case cb.AdminClosedDays(centre):
            _closed_days_view(turn, centre)
        case cb.AdminStaff(centre):
            _staff_view(turn, centre)
        case _:
            turn.stale()


# --- changing a value -------------------------------------------------------------------
@on(roles=ADMIN)
def start_edit(turn: Turn) -> None:
    pressed = turn.pressed(cb.AdminEdit)
    if pressed is None or pressed.field not in FIELDS:
        turn.stale()
        return
    key, target = pressed.field, pressed.target or None
    _check_target(turn, key, target)
    conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, FLOW, "input",
                        {"field": key, "target": target})
    turn.edit_or_say(turn._(FIELDS[key].prompt), reply_markup=InlineKeyboardMarkup(
        [[_button(turn.t, N_("Cancel"), cb.AdminCancel())]]))


def _check_target(turn: Turn, key: str, target: int | None) -> None:
    if key in ("cnew", "ret"):
        if admin_access.admin_centres(turn.person) is not None:
            raise NotAllowed(N_("Sorry, this is not available to you."))
    else:
        admin_access.require(turn.person, target)


@where_hint(FLOW)
def where_in_admin(turn: Turn, state: Any) -> None:
    turn.say(turn._("You are changing a setting: please press Save or Cancel above, or send "
                    "/admin to start again."))


@text_step_handler(FLOW, steps=("input",))
def receive_value(turn: Turn, state: Any) -> None:
    if not turn.has_role(Role.ADMIN) or state.step != "input":
        turn.say(turn._("Please use the buttons above, or send /admin to start again."))
        return
    field = FIELDS[state.data["field"]]
    # Checked before it is read or shown back: a value is never echoed longer than it
    # could be stored.
    if too_long(turn, turn.text, field.limit, prompt=turn._(field.prompt),
                cancel=cb.AdminCancel()):
        return
    try:
        value = field.parse(turn.db, turn.text)
    except DomainError as problem:
        turn.say(turn._(problem.message, **problem.params) + "\n\n" + turn._(field.prompt),
                 reply_markup=InlineKeyboardMarkup([[_button(turn.t, N_("Cancel"),
                                                             cb.AdminCancel())]]))
        return
    conversations.advance(turn.db, turn.now, state, "confirm", value=value)
    turn.say(turn._("New value: {value}\nSave this change?",
                          value=field.preview(turn.t, value)),
                   reply_markup=_confirm_markup(turn.t))


def _confirm_markup(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(t, N_("Save"), cb.AdminSave()),
                                  _button(t, N_("Cancel"), cb.AdminCancel())]])


@on(roles=ADMIN)
def start_toggle(turn: Turn) -> None:
    """Changes without typing (disable a centre, remove a role…) still ask to confirm."""
    pressed = turn.pressed(cb.AdminToggle)
    if pressed is None:
        turn.stale()
        return
    action, target = pressed.action, pressed.target
    question = _toggle_question(turn, action, target)
    if question is None:
        turn.stale()
        return
    conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, FLOW, "confirm",
                        {"toggle": action, "target": target})
    turn.edit_or_say(question, reply_markup=_confirm_markup(turn.t))


def _toggle_question(turn: Turn, action: str, target: int) -> str | None:
    if action == "cdis":
        centre = admin_access.centre(turn.db, target)
        admin_access.require(turn.person, centre.id)
        if centre.disabled_at is None:
            return turn._("Disable {centre}? No new invites or sessions can be made for it.",
                          centre=centre.name)
        return turn._("Enable {centre} again?", centre=centre.name)
    if action == "cdrm":
        closed = closed_days.get(turn.db, target)
        if closed is None:
            return None
        admin_access.require(turn.person, closed.job_centre_id)
        return turn._("Remove the closed day {date}?", date=turn.t.date(closed.day))
    if action == "rv":
        grant = people.grant(turn.db, target)
        if grant is None or grant.role == Role.ASPIRANT:
            return None
        admin_access.require(turn.person, grant.job_centre_id)
        return turn._("Remove the role {role} from {name}?", role=turn._(ROLE_NOUNS[grant.role]),
                      name=grant.person.display_name or "?")
    if action == "gender":
        if admin_access.admin_centres(turn.person) is not None:
            raise NotAllowed(N_("Sorry, this is not available to you."))
        on_now = org_settings.get(turn.db, org_settings.RECORD_GENDER_AND_AGE)
        return turn._("Turn off gender and age band for figures?") if on_now else turn._(
            "Turn on gender and age band for figures? Coaches can then record them; "
            "aspirants are never asked by the bot.")
    return None


@on(roles=ADMIN)
def confirm(turn: Turn) -> None:
    assert turn.person is not None
    pressed = turn.pressed(cb.AdminSave, cb.AdminCancel)
    state = conversations.current(turn.db, turn.now, turn.user_id, turn.chat_id)
    if pressed is None or state is None or state.flow != FLOW:
        turn.stale()
        return
    conversations.finish(turn.db, state)
    if isinstance(pressed, cb.AdminCancel):
        turn.edit_or_say(turn._("Cancelled. Nothing has changed."),
                               reply_markup=InlineKeyboardMarkup(_main_rows(turn.t)))
        return
    if state.step != "confirm":
        turn.stale()
        return
    target = state.data.get("target")
    if "toggle" in state.data:
        back = _apply_toggle(turn, state.data["toggle"], target)
    else:
        key = state.data["field"]
        _check_target(turn, key, target)
        try:
            with turn.db.begin_nested():
                FIELDS[key].apply(turn.db, turn.now, turn.person, target, state.data["value"])
        except DomainError as problem:
            # Refused when saving (e.g. the name was taken meanwhile): ask again.
            conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, FLOW, "input",
                                {"field": key, "target": target})
            turn.edit_or_say(
                turn._(problem.message, **problem.params) + "\n\n" + turn._(FIELDS[key].prompt),
                reply_markup=InlineKeyboardMarkup([[_button(turn.t, N_("Cancel"),
                                                            cb.AdminCancel())]]))
            return
        back = FIELDS[key].back(target or 0)
    turn.db.flush()
    turn.edit_or_say(turn._("Saved."), reply_markup=InlineKeyboardMarkup(
        [[_button(turn.t, N_("Back"), back)]]))


def _apply_toggle(turn: Turn, action: str, target: int) -> cb.Callback:
    assert turn.person is not None
    if action == "cdis":
        centre = admin_access.centre(turn.db, target)
        admin_access.require(turn.person, centre.id)
        centres.set_disabled(turn.db, turn.now, centre, centre.disabled_at is None,
                             actor=turn.person)
        return cb.AdminCentre(centre.id)
    if action == "cdrm":
        closed = closed_days.get(turn.db, target)
        if closed is None:
            raise DomainError(N_("That closed day has already been removed."))
        admin_access.require(turn.person, closed.job_centre_id)
        centre_id = closed.job_centre_id
        closed_days.remove(turn.db, turn.now, closed, actor=turn.person)
        return cb.AdminClosedDays(centre_id)
    if action == "rv":
        grant = people.grant(turn.db, target)
        if grant is None:
            raise DomainError(N_("That role has already been removed."))
        admin_access.require(turn.person, grant.job_centre_id)
        centre_id = grant.job_centre_id
        holder = grant.person
        people.revoke_role(turn.db, turn.now, holder, grant.role, centre_id,
                           actor=turn.person)
        turn.refresh_menu_of(holder)
        return cb.AdminStaff(centre_id)
    if action == "gender":
        if admin_access.admin_centres(turn.person) is not None:
            raise NotAllowed(N_("Sorry, this is not available to you."))
        current = org_settings.get(turn.db, org_settings.RECORD_GENDER_AND_AGE)
        org_settings.set_value(turn.db, turn.now, org_settings.RECORD_GENDER_AND_AGE,
                               not current, actor=turn.person)
        return cb.AdminSettings()
    raise DomainError(STALE_BUTTON)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("admin", admin_command))
    application.add_handler(CallbackQueryHandler(start_edit, pattern=cb.AdminEdit.matches))
    application.add_handler(CallbackQueryHandler(start_toggle, pattern=cb.AdminToggle.matches))
    application.add_handler(CallbackQueryHandler(confirm, pattern=cb.any_of(cb.AdminSave,
                                                                           cb.AdminCancel)))
    application.add_handler(CallbackQueryHandler(navigate, pattern=cb.any_of(*NAVIGATION)))
