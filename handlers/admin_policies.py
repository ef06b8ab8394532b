"""/admin → attendance policies, and quiet hours and deadline counting, per job centre.

Each value is a ``Field`` of /admin (handlers/admin.py): the admin sends it, sees a
preview and presses Save; /admin's confirm step checks the centre again, and the
services validate and audit the change. Values chosen from a short list (location
check, quiet weekends, deadline counting) are buttons that jump straight to that
same preview.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler

from bot.errors import DomainError
from bot.i18n import N_, Translator
from bot.models import LocationRule, Person, Role
from bot.presentation import callbacks as cb
from bot.services.attendance import policy as attendance_policy
from bot.services.centres.admin_access import centre, changeable_centres, require
from bot.services.reminders import settings as reminder_settings
from bot.services.system import conversations
from handlers import admin
from handlers.base import Turn, on

ADMIN = frozenset({Role.ADMIN})
# A Monday, to name weekdays in the reader's language.
_A_MONDAY = date(2026, 1, 5)

LOCATION_NAMES = {
    LocationRule.OFF: N_("off"),
    LocationRule.ALTERNATIVE: N_("a shared location may replace the code"),
    LocationRule.REQUIRED: N_("the code and a shared location are both required"),
}
PIN_NAMES = {
    False: N_("only a live location counts"),
    True: N_("a plain location pin counts too (it can be sent from anywhere)"),
}
LOCATION_BUTTONS = {
    LocationRule.OFF: N_("Location: off"),
    LocationRule.ALTERNATIVE: N_("Location instead of code"),
    LocationRule.REQUIRED: N_("Code and location"),
}


# --- parsing typed values (every refusal is a localized DomainError) -----------------------
_clock = reminder_settings.parse_clock


def _clock_range(text: str, example: str) -> tuple[time, time]:
    parts = [p for p in re.split(r"\s*[-–—]\s*|\s+", text.strip()) if p]
    if len(parts) != 2:
        raise DomainError(N_("Send a start and an end time, like {example}."), example=example)
    return _clock(parts[0]), _clock(parts[1])


def _whole(text: str, low: int, high: int) -> int:
    cleaned = text.strip()
    # isdecimal, not isdigit: int() reads any script's decimal digits, but not "²".
    if not cleaned.isdecimal() or not low <= int(cleaned) <= high:
        raise DomainError(N_("Send a whole number from {low} to {high}."), low=low, high=high)
    return int(cleaned)


def _limits(name: str) -> tuple[int, int]:
    # The service's own limits, so a value accepted here is never refused on Save.
    return attendance_policy._INT_LIMITS[name]


def _int_parser(name: str) -> Callable[[Session, str], int]:
    return lambda db, text: _whole(text, *_limits(name))


def _weekdays(db: Session, text: str) -> str:
    digits = re.sub(r"[\s,;]", "", text)
    if not digits or any(c not in "1234567" for c in digits):
        raise DomainError(N_("Weekdays are digits 1 (Monday) to 7 (Sunday), e.g. 12345."))
    return "".join(sorted(set(digits)))


def _window(db: Session, text: str) -> list[str]:
    start, end = _clock_range(text, "08:30-10:00")
    if start >= end:
        raise DomainError(N_("The check-in window must end after it starts."))
    return [start.isoformat("minutes"), end.isoformat("minutes")]


def _within(db: Session, text: str) -> list[int]:
    numbers = re.findall(r"\d+", text)
    if len(numbers) != 2 or re.search(r"[-.]", text):
        raise DomainError(N_("Send two numbers, e.g. 3 10: three unexcused absences within "
                             "ten attendance days."))
    limit = _whole(numbers[0], *_limits("window_limit"))
    days = _whole(numbers[1], *_limits("window_days"))
    return [limit, days]


def _reasons(db: Session, text: str) -> str:
    return attendance_policy.parse_reasons(text)


def _reasons_text(t: Translator, value: str) -> str:
    from bot.presentation.attendance_views import reason_label

    return ", ".join(reason_label(t, reason) for reason in value.split(","))


def _optional_clock(db: Session, text: str) -> str | None:
    if text.strip() in ("-", "—", "0"):
        return None
    return _clock(text).isoformat("minutes")


def _quiet(db: Session, text: str) -> list[str]:
    if text.strip() in ("-", "—", "0"):
        return ["00:00", "00:00"]  # start == end: no quiet hours
    start, end = _clock_range(text, "20:00-08:00")
    if start == end:
        raise DomainError(N_("Quiet hours must start and end at different times; send - for "
                             "no quiet hours."))
    return [start.isoformat("minutes"), end.isoformat("minutes")]


def _choice(values: dict[str, Any]) -> Callable[[Session, str], Any]:
    def parse(db: Session, text: str) -> Any:
        key = text.strip().lower()
        if key not in values:
            raise DomainError(N_("Please send one of: {values}."), values=", ".join(values))
        return values[key]

    return parse


# --- previews --------------------------------------------------------------------------------
def weekday_names(t: Translator, digits: str) -> str:
    return ", ".join(t.weekday(_A_MONDAY + timedelta(days=int(d) - 1)) for d in digits)


def _span(t: Translator, value: list[str]) -> str:
    return f"{t.time(time.fromisoformat(value[0]))}–{t.time(time.fromisoformat(value[1]))}"


def _minutes(t: Translator, value: int) -> str:
    return t.ngettext("{count} minute", "{count} minutes", value)


def _streak(t: Translator, value: int) -> str:
    if not value:
        return t._("never")
    return t.ngettext("{count} unexcused absence in a row",
                      "{count} unexcused absences in a row", value)


def _within_text(t: Translator, value: list[int]) -> str:
    if not value[0]:
        return t._("never")
    return t.ngettext("{count} unexcused absence within {days} attendance days",
                      "{count} unexcused absences within {days} attendance days", value[0],
                      days=value[1])


def _digest(t: Translator, value: str | None) -> str:
    return t._("no digest") if value is None else t.time(time.fromisoformat(value))


def _quiet_text(t: Translator, value: list[str]) -> str:
    return t._("no quiet hours") if value[0] == value[1] else _span(t, value)


def _on_off(t: Translator, value: bool) -> str:
    return t._("on") if value else t._("off")


def _counting(t: Translator, calendar_days: bool) -> str:
    return t._("calendar days") if calendar_days else t._("working days")


# --- applying ------------------------------------------------------------------------------
def _policy(to_changes: Callable[[Any], dict[str, Any]]
            ) -> Callable[[Session, Any, Person, int | None, Any], None]:
    def apply(db: Session, now: Any, actor: Person, target: int | None, value: Any) -> None:
        attendance_policy.update(db, now, centre(db, target), actor=actor, **to_changes(value))

    return apply


def _settings(to_changes: Callable[[Any], dict[str, Any]]
              ) -> Callable[[Session, Any, Person, int | None, Any], None]:
    def apply(db: Session, now: Any, actor: Person, target: int | None, value: Any) -> None:
        reminder_settings.update(db, now, centre(db, target), actor=actor, **to_changes(value))

    return apply


def _time_or_none(value: str | None) -> time | None:
    return None if value is None else time.fromisoformat(value)


POLICY_VIEW = cb.PolicyView
QUIET_VIEW = cb.QuietView
Field = admin.Field

FIELDS: dict[str, admin.Field] = {
    "apday": Field(
        N_("Send the attendance days as digits, 1 = Monday to 7 = Sunday; e.g. 12345 for "
           "Monday to Friday. Public holidays and closed days are always off."),
        _weekdays, weekday_names, _policy(lambda v: {"weekdays": v}), POLICY_VIEW),
    "apwin": Field(
        N_("Send the check-in window as start-end in local time, e.g. 08:30-10:00."),
        _window, _span,
        _policy(lambda v: {"window_start": time.fromisoformat(v[0]),
                           "window_end": time.fromisoformat(v[1])}), POLICY_VIEW),
    "apgr": Field(
        N_("Send the grace period in minutes (0–240): check-ins are still taken this long "
           "after the window closes."),
        _int_parser("grace_minutes"), _minutes, _policy(lambda v: {"grace_minutes": v}),
        POLICY_VIEW),
    "apstk": Field(
        N_("Send after how many unexcused absences in a row the coach and team lead are "
           "alerted (0–30; 0 = never)."),
        _int_parser("streak_limit"), _streak, _policy(lambda v: {"streak_limit": v}),
        POLICY_VIEW),
    "apwl": Field(
        N_("Send two numbers: how many unexcused absences within how many attendance days "
           "escalate, e.g. 3 10 (0 as the first number = never)."),
        _within, _within_text,
        _policy(lambda v: {"window_limit": v[0], "window_days": v[1]}), POLICY_VIEW),
    "aprs": Field(
        N_("Send after how many minutes an alert no coach has acted on is sent again "
           "(5–1440)."),
        _int_parser("alert_resend_minutes"), _minutes,
        _policy(lambda v: {"alert_resend_minutes": v}), POLICY_VIEW),
    "apad": Field(
        N_("Send how many minutes the coach's alert waits for the aspirant's answer to \"why "
           "were you absent?\" (0–240; 0 = the alert goes out at once)."),
        _int_parser("alert_delay_minutes"), _minutes,
        _policy(lambda v: {"alert_delay_minutes": v}), POLICY_VIEW),
    "apar": Field(
        N_("Send the absence reasons to offer, separated by spaces: ill, sick_child, "
           "job_interview, appointment, other (\"other\" is always offered)."),
        _reasons, _reasons_text, _policy(lambda v: {"absence_reasons": v}), POLICY_VIEW),
    "apdg": Field(
        N_("Send the time of the coaches' daily digest, e.g. 08:00, or - for no digest."),
        _optional_clock, _digest, _policy(lambda v: {"digest_time": _time_or_none(v)}),
        POLICY_VIEW),
    "aploc": Field(
        N_("Send the location check: off, alternative (a shared location may replace the "
           "code) or required (code and location)."),
        _choice({rule.value: rule.value for rule in LocationRule}),
        lambda t, v: t._(LOCATION_NAMES[LocationRule(v)]),
        _policy(lambda v: {"location_rule": LocationRule(v)}), POLICY_VIEW),
    "appin": Field(
        N_("Send whether a plain location pin counts: on or off. A pin can be dropped "
           "anywhere on the map, so with off only a live location counts."),
        _choice({"on": True, "off": False}), lambda t, v: t._(PIN_NAMES[bool(v)]),
        _policy(lambda v: {"accept_location_pin": v}), POLICY_VIEW),
    "aprad": Field(
        N_("Send the radius around the job centre, in metres (20–5000), within which a "
           "shared location counts."),
        _int_parser("radius_m"), lambda t, v: t._("{metres} m", metres=v),
        _policy(lambda v: {"radius_m": v}), POLICY_VIEW),
    "apcs": Field(
        N_("Send how often the check-in code changes, in seconds (15–3600)."),
        _int_parser("code_step_seconds"),
        lambda t, v: t.ngettext("every {count} second", "every {count} seconds", v),
        _policy(lambda v: {"code_step_seconds": v}), POLICY_VIEW),
    "qhrs": Field(
        N_("Send the quiet hours as start-end in local time, e.g. 20:00-08:00, or - for no "
           "quiet hours. A reminder due in them moves to the next allowed time, or is "
           "skipped if it is too late by then."),
        _quiet, _quiet_text,
        _settings(lambda v: {"quiet_start": time.fromisoformat(v[0]),
                             "quiet_end": time.fromisoformat(v[1])}), QUIET_VIEW),
    "qwk": Field(
        N_("Send on to keep weekends quiet, or off."),
        _choice({"on": True, "off": False}), _on_off,
        _settings(lambda v: {"quiet_weekends": v}), QUIET_VIEW),
    "qdl": Field(
        N_("Send how plan deadlines are counted: working or calendar (days)."),
        _choice({"working": False, "calendar": True}), _counting,
        _settings(lambda v: {"deadline_calendar_days": v}), QUIET_VIEW),
}
# Buttons that pick a value instead of typing it: field -> {callback value: typed value}.
CHOICES: dict[str, dict[str, str]] = {
    "aploc": {rule.value[:3]: rule.value for rule in LocationRule},
    "appin": {"1": "on", "0": "off"},
    "qwk": {"1": "on", "0": "off"},
    "qdl": {"w": "working", "c": "calendar"},
}

admin.FIELDS.update(FIELDS)


# --- views -----------------------------------------------------------------------------------
def _button(t: Translator, label: str, data: cb.Callback, **params: Any
            ) -> InlineKeyboardButton:
    return InlineKeyboardButton(t._(label, **params), callback_data=data.encode())


def _centre_list(turn: Turn, view: type[cb.PolicyView | cb.QuietView], title: str) -> None:
    rows = [[InlineKeyboardButton(c.name, callback_data=view(c.id).encode())]
            for c in changeable_centres(turn.db, turn.person)]
    rows.append([_button(turn.t, N_("Back"), cb.AdminMenu())])
    turn.edit_or_say(turn._(title), reply_markup=InlineKeyboardMarkup(rows))


def _policy_view(turn: Turn, centre_id: int) -> None:
    require(turn.person, centre_id)
    place = centre(turn.db, centre_id)
    policy = attendance_policy.policy_for(turn.db, turn.now, place.id)
    t = turn.t
    lines = [
        t._("{centre}: attendance policy", centre=place.name),
        t._("Attendance days: {days} (public holidays and closed days are off)",
            days=weekday_names(t, policy.weekdays)),
        t._("Check-in window: {window}",
            window=_span(t, [policy.window_start.isoformat(), policy.window_end.isoformat()])),
        t._("Grace period: {minutes}", minutes=_minutes(t, policy.grace_minutes)),
        t._("Escalation: {rule}", rule=_streak(t, policy.streak_limit)),
        t._("Escalation: {rule}", rule=_within_text(t, [policy.window_limit,
                                                         policy.window_days])),
        t._("The coach's alert waits {minutes} for the aspirant's answer",
            minutes=_minutes(t, policy.alert_delay_minutes)),
        t._("An alert no coach has acted on is sent again after {minutes}",
            minutes=_minutes(t, policy.alert_resend_minutes)),
        t._("Absence reasons offered: {reasons}", reasons=_reasons_text(
            t, ",".join(r.value for r in attendance_policy.reasons_of(policy)))),
        t._("Coaches' daily digest: {time}", time=_digest(
            t, policy.digest_time.isoformat() if policy.digest_time else None)),
        t._("Location check: {rule}", rule=t._(LOCATION_NAMES[policy.location_rule])),
        t._("Shared locations: {rule}", rule=t._(PIN_NAMES[policy.accept_location_pin])),
        t._("Radius: {metres} m", metres=policy.radius_m),
        t._("The check-in code changes {every}", every=t.ngettext(
            "every {count} second", "every {count} seconds", policy.code_step_seconds)),
    ]
    def edit(field: str) -> cb.AdminEdit:
        return cb.AdminEdit(field, place.id)

    rows = [
        [_button(t, N_("Days"), edit("apday")),
         _button(t, N_("Check-in window"), edit("apwin"))],
        [_button(t, N_("Grace period"), edit("apgr")),
         _button(t, N_("Alert sent again"), edit("aprs"))],
        [_button(t, N_("Absences in a row"), edit("apstk")),
         _button(t, N_("Absences within days"), edit("apwl"))],
        [_button(t, N_("Wait for the answer"), edit("apad")),
         _button(t, N_("Absence reasons"), edit("apar"))],
        [_button(t, N_("Digest time"), edit("apdg")),
         _button(t, N_("Code rotation"), edit("apcs"))],
        [_button(t, N_("Radius"), edit("aprad")),
         _button(t, N_("Location pins: do not count") if policy.accept_location_pin
                 else N_("Location pins: count them"),
                 cb.PolicyChoice("appin", place.id, "0" if policy.accept_location_pin else "1"))],
        [_button(t, label, cb.PolicyChoice("aploc", place.id, rule.value[:3]))
         for rule, label in LOCATION_BUTTONS.items() if rule != policy.location_rule],
        [_button(t, N_("Back"), cb.PolicyCentres())],
    ]
    turn.edit_or_say("\n".join(lines), reply_markup=InlineKeyboardMarkup(rows))


def _quiet_view(turn: Turn, centre_id: int) -> None:
    require(turn.person, centre_id)
    place = centre(turn.db, centre_id)
    settings = reminder_settings.for_centre(turn.db, place.id)
    quiet = settings.quiet
    t = turn.t
    span = [quiet.start.isoformat("minutes"), quiet.end.isoformat("minutes")]
    lines = [
        t._("{centre}: quiet hours and deadlines", centre=place.name),
        t._("Quiet hours: {hours}", hours=_quiet_text(t, span)),
        t._("Quiet weekends: {answer}", answer=_on_off(t, quiet.weekends)),
        t._("Plan deadlines are counted in {unit}.",
            unit=_counting(t, settings.deadline_calendar_days)),
    ]
    rows = [
        [_button(t, N_("Quiet hours"), cb.AdminEdit("qhrs", place.id))],
        [_button(t, N_("Weekends: not quiet") if quiet.weekends else N_("Weekends: quiet"),
                 cb.PolicyChoice("qwk", place.id, "0" if quiet.weekends else "1"))],
        [_button(t, N_("Count working days") if settings.deadline_calendar_days
                 else N_("Count calendar days"),
                 cb.PolicyChoice("qdl", place.id,
                                 "w" if settings.deadline_calendar_days else "c"))],
        [_button(t, N_("Back"), cb.QuietCentres())],
    ]
    turn.edit_or_say("\n".join(lines), reply_markup=InlineKeyboardMarkup(rows))


NAVIGATION = (cb.PolicyCentres, cb.QuietCentres, cb.PolicyView, cb.QuietView)


@on(roles=ADMIN)
def navigate(turn: Turn) -> None:
    match turn.pressed(*NAVIGATION):
        case cb.PolicyCentres():
            _centre_list(turn, cb.PolicyView, N_("Attendance policy of which job centre?"))
        case cb.QuietCentres():
            _centre_list(turn, cb.QuietView, N_("Quiet hours and deadlines of which job centre?"))
        case cb.PolicyView(centre_id):
            _policy_view(turn, centre_id)
        case cb.QuietView(centre_id):
            _quiet_view(turn, centre_id)
        case _:
            turn.stale()


@on(roles=ADMIN)
def choose(turn: Turn) -> None:
    """A value picked with a button: the same preview and Save as a typed value."""
    pressed = turn.pressed(cb.PolicyChoice)
    if pressed is None or pressed.choice not in CHOICES.get(pressed.field, {}):
        turn.stale()
        return
    key, centre_id = pressed.field, pressed.centre
    require(turn.person, centre_id)
    place = centre(turn.db, centre_id)
    field = admin.FIELDS[key]
    value = field.parse(turn.db, CHOICES[key][pressed.choice])
    if key == "aploc" and value != LocationRule.OFF.value and place.latitude is None:
        raise DomainError(N_("The job centre has no coordinates, so locations cannot be "
                             "checked."))
    conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, admin.FLOW, "confirm",
                        {"field": key, "target": centre_id, "value": value})
    turn.edit_or_say(
        turn._("New value: {value}\nSave this change?", value=field.preview(turn.t, value)),
        reply_markup=InlineKeyboardMarkup([[_button(turn.t, N_("Save"), cb.AdminSave()),
                                            _button(turn.t, N_("Cancel"), cb.AdminCancel())]]))


admin.admin_section(N_("Attendance policies"), cb.PolicyCentres())
admin.admin_section(N_("Quiet hours and deadlines"), cb.QuietCentres())


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(choose, pattern=cb.PolicyChoice.matches))
    application.add_handler(CallbackQueryHandler(navigate, pattern=cb.any_of(*NAVIGATION)))
