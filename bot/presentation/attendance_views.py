"""How attendance is shown: alerts, digests, the caseload, statements, reason buttons.

The coach's alert and digest are queued with plain data and worded here when
sent (registered with ``scheduler.render``), so they come in the coach's language
of that moment; the same functions draw the alert again when the coach acts on it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import FSI, N_, PDI, Translator
from bot.models import AbsenceReason, AttendanceStatus, MilestoneKind, OutboxMessage
from bot.presentation import callbacks as cb
from bot.presentation.callbacks import Callback
from bot.services.attendance import absences, coach_alerts
from bot.services.attendance.caseload import Detail, Entry, Today
from bot.services.attendance.statement import NOT_RECORDED, STAFF, UNKNOWN, Statement
from bot.services.attendance.sweep import DIGEST_KIND, STREAK, WHY_KIND, WINDOW

# Telegram allows 100 buttons on a message: 4 per aspirant and one "seen".
ALERT_BUTTON_ROWS = 20

ALERT_ACTIONS = (("e", "✔️", N_("Excuse")), ("p", "✅", N_("Present")),
                 ("c", "📞", N_("Contacted")), ("n", "📝", N_("Note")))
DONE = {"excused": N_("excused"), "present": N_("marked present"),
        "contacted": N_("contacted"), "noted": N_("note added")}
MILESTONES = {MilestoneKind.FIRST_PLAN: N_("First job plan"),
              MilestoneKind.DEEPENED_PLAN: N_("Deepened job plan"),
              MilestoneKind.REVIEW: N_("Plan review")}
STATUS_ICONS = {AttendanceStatus.PRESENT: "✅", AttendanceStatus.EXCUSED: "✔️",
                AttendanceStatus.UNEXCUSED: "❌", None: "·"}
STATUS_WORDS = {AttendanceStatus.PRESENT.value: N_("present"),
                AttendanceStatus.EXCUSED.value: N_("absent, excused"),
                AttendanceStatus.UNEXCUSED.value: N_("absent, unexcused"),
                NOT_RECORDED: N_("not recorded")}


def name(value: str) -> str:
    """A person's name isolated from the text around it (it may run the other way)."""
    return f"{FSI}{value}{PDI}"


def reason_label(t: Translator, reason: AbsenceReason | str | None) -> str:
    if reason is None:
        return t._("no reason given")
    return t._(absences.REASON_LABELS[AbsenceReason(reason)])


def reason_keyboard(t: Translator, data: Callable[[str], Callback], *,
                    cancel: Callback | None = None) -> InlineKeyboardMarkup:
    """One button per absence reason; ``data(code)`` is what each button carries."""
    buttons = [InlineKeyboardButton(reason_label(t, reason), callback_data=data(code).encode())
               for code, reason in absences.REASON_CODES.items()]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    if cancel is not None:
        rows.append([InlineKeyboardButton(t._("Cancel"), callback_data=cancel.encode())])
    return InlineKeyboardMarkup(rows)


# --- the coach's alert ------------------------------------------------------------------
def alert_text(t: Translator, view: dict[str, Any]) -> str:
    day = date.fromisoformat(view["day"])
    if view.get("again"):
        heading = t._("Reminder: these aspirants did not check in today ({date}) at {centre}, "
                      "and nothing has been recorded yet:", date=day, centre=view["centre"])
    else:
        heading = t._("Not checked in today ({date}) at {centre}:", date=day,
                      centre=view["centre"])
    lines = [heading, ""]
    for number, item in enumerate(view["items"], start=1):
        line = f"{number}. {name(item['name'])}"
        if item["action"]:
            line += f" — ✓ {t._(DONE[item['action']])}"
        lines.append(line)
        rules = item["escalation"].split(",") if item["escalation"] else []
        if STREAK in rules:
            lines.append("    ⚠️ " + t._("{count} unexcused absences in a row; the team lead "
                                          "has been told.", count=view["streak_limit"]))
        if WINDOW in rules:
            lines.append("    ⚠️ " + t._("{count} unexcused absences in the last {days} "
                                          "check-in days; the team lead has been told.",
                                          count=view["window_limit"], days=view["window_days"]))
    open_items = [i for i in view["items"] if not i["action"]]
    if open_items:
        lines += ["", t._("They have been asked why. The buttons record what you do; each row "
                          "is for the aspirant with that number.")]
        if len(open_items) > ALERT_BUTTON_ROWS:
            lines.append(t._("More aspirants than buttons: see /caseload for the rest."))
    return "\n".join(lines)


def alert_keyboard(t: Translator, view: dict[str, Any], *, acknowledged: bool = False
                   ) -> InlineKeyboardMarkup | None:
    rows = []
    for number, item in enumerate(view["items"], start=1):
        if item["action"] or len(rows) >= ALERT_BUTTON_ROWS:
            continue
        rows.append([InlineKeyboardButton(f"{number} {icon} {t._(label)}",
                                          callback_data=cb.AlertAction(item["id"], code).encode())
                     for code, icon, label in ALERT_ACTIONS])
    if rows and not acknowledged:
        rows.append([InlineKeyboardButton("👍 " + t._("Seen, I'll follow up"),
                                          callback_data=cb.AlertSeen(view["alert"]).encode())])
    return InlineKeyboardMarkup(rows) if rows else None


def _alert_message(message: OutboxMessage, t: Translator) -> str:
    return alert_text(t, message.params)


def _alert_buttons(message: OutboxMessage, t: Translator) -> list[list[InlineKeyboardButton]]:
    markup = alert_keyboard(t, message.params)
    return [list(row) for row in markup.inline_keyboard] if markup else []


# --- the aspirant is asked why, the coach hears the answer ------------------------------
def _why_buttons(message: OutboxMessage, t: Translator) -> list[list[InlineKeyboardButton]]:
    record = int(message.params["record"])
    markup = reason_keyboard(t, lambda code: cb.WhyAbsent(record, code))
    return [list(row) for row in markup.inline_keyboard]


def _explained_buttons(message: OutboxMessage, t: Translator
                       ) -> list[list[InlineKeyboardButton]]:
    return [[InlineKeyboardButton("✔️ " + t._("Excuse"),
                                  callback_data=cb.ExcuseExplained(
                                      int(message.params["record"])).encode())]]


# --- the daily digest -------------------------------------------------------------------
def milestone_label(t: Translator, kind: MilestoneKind | str) -> str:
    return t._(MILESTONES[MilestoneKind(kind)])


def digest_text(t: Translator, view: dict[str, Any]) -> str:
    day = date.fromisoformat(view["day"])
    lines = [t._("Good morning! Your aspirants at {centre} today, {date}:", centre=view["centre"],
                 date=day),
             t.ngettext("{count} aspirant, {required} of them with a daily check-in.",
                        "{count} aspirants, {required} of them with a daily check-in.",
                        view["count"], required=view["required"])]
    sections = [
        ("reported", N_("Reported absent today:"),
         lambda row: f"{name(row[0])}: {reason_label(t, row[1])}"),
        ("streaks", N_("Unexcused absences in a row:"),
         lambda row: f"{name(row[0])}: {t.number(row[1])}"),
        ("overdue", N_("Plan deadlines passed:"),
         lambda row: f"{name(row[0])}: {milestone_label(t, row[1])}, "
                     f"{t.short_date(date.fromisoformat(row[2]))}"),
        ("due", N_("Plan deadlines in the next days:"),
         lambda row: f"{name(row[0])}: {milestone_label(t, row[1])}, "
                     f"{t.short_date(date.fromisoformat(row[2]))}"),
    ]
    anything = False
    for key, title, line in sections:
        if view.get(key):
            anything = True
            lines += ["", t._(title), *(f"• {line(row)}" for row in view[key])]
    if not anything:
        lines += ["", t._("Nothing needs your attention this morning.")]
    lines += ["", t._("Open /caseload for details.")]
    return "\n".join(lines)


def _digest_message(message: OutboxMessage, t: Translator) -> str:
    return digest_text(t, message.params)


# --- the caseload -----------------------------------------------------------------------
def today_text(t: Translator, entry: Entry) -> str:
    reason = reason_label(t, entry.reason) if entry.reason else None
    match entry.today:
        case Today.PRESENT:
            assert entry.checked_in_at is not None
            return "✅ " + t._("checked in {time}", time=t.time(entry.checked_in_at))
        case Today.REPORTED:
            return "🤒 " + t._("reported absent: {reason}", reason=reason or "—")
        case Today.EXCUSED:
            return "✔️ " + (t._("excused: {reason}", reason=reason) if reason else t._("excused"))
        case Today.ABSENT:
            return "❌ " + (t._("absent, reason given: {reason}", reason=reason) if reason
                           else t._("absent"))
        case Today.MISSING:
            return "❌ " + t._("not checked in")
        case Today.WAITING:
            return "⏳ " + t._("not checked in yet")
        case Today.CLOSED:
            return t._("no check-in today")
    return t._("no daily check-in")


def deadline_text(t: Translator, entry: Entry) -> str | None:
    if entry.next_kind is None or entry.next_due is None:
        return None
    label = milestone_label(t, entry.next_kind)
    if entry.overdue:
        return "❗ " + t._("{milestone} overdue since {date}", milestone=label,
                          date=t.short_date(entry.next_due))
    return "📋 " + t._("{milestone} due {date}", milestone=label,
                      date=t.short_date(entry.next_due))


def entry_lines(t: Translator, number: int, entry: Entry) -> list[str]:
    line = f"{number}. {name(entry.name)} — {today_text(t, entry)}"
    if entry.streak:
        line += " · ⚠️ " + t._("{count} unexcused in a row", count=entry.streak)
    lines = [line]
    deadline = deadline_text(t, entry)
    if deadline:
        lines.append(f"    {deadline}")
    return lines


def caseload_page(t: Translator, entries: list[Entry], number: int, pages: int, first: int,
                  total: int) -> tuple[str, InlineKeyboardMarkup | None]:
    if not entries:
        return t._("You have no aspirants in your caseload."), None
    lines = [t._("Your aspirants ({count}), overdue plan deadlines first:", count=total)]
    if pages > 1:
        lines[0] += " " + t._("page {page} of {pages}", page=number + 1, pages=pages)
    buttons = []
    for offset, entry in enumerate(entries):
        lines += ["", *entry_lines(t, first + offset + 1, entry)]
        buttons.append(InlineKeyboardButton(f"{first + offset + 1}. {entry.name}"[:40],
                                            callback_data=cb.CaseloadDetail(
                                                entry.enrolment.id).encode()))
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    navigation = []
    if number > 0:
        navigation.append(InlineKeyboardButton("‹ " + t._("Previous"),
                                               callback_data=cb.CaseloadPage(number - 1).encode()))
    if number + 1 < pages:
        navigation.append(InlineKeyboardButton(t._("Next") + " ›",
                                               callback_data=cb.CaseloadPage(number + 1).encode()))
    if navigation:
        rows.append(navigation)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def detail_text(t: Translator, detail: Detail) -> str:
    entry = detail.entry
    lines = [f"{name(entry.name)} — {detail.centre.name}",
             t._("Daily check-in: {answer}", answer=t._("required") if
                 entry.enrolment.attendance_required else t._("not required")),
             t._("Today: {status}", status=today_text(t, entry))]
    if entry.streak:
        lines.append(t._("Unexcused absences in a row: {count}", count=entry.streak))
    if detail.recent:
        days = [f"{STATUS_ICONS[status]} {t.short_date(day)}" for day, status in detail.recent]
        lines += ["", t._("Last check-in days:"), ", ".join(days)]
    if detail.upcoming:
        lines += ["", t._("Reported absences:")]
        for absence in detail.upcoming:
            span = (t.short_date(absence.first_day) if absence.first_day == absence.last_day
                    else f"{t.short_date(absence.first_day)}–{t.short_date(absence.last_day)}")
            lines.append(f"• {span}: {reason_label(t, absence.reason)}")
    if detail.milestones:
        lines += ["", t._("Job plan:")]
        for milestone in detail.milestones:
            if milestone.done_at is not None:
                state = t._("done {date}", date=t.short_date(milestone.done_at))
            else:
                state = t._("due {date}", date=t.short_date(milestone.due_on))
            lines.append(f"• {milestone_label(t, milestone.kind)}: {state}")
    if detail.notes:
        lines += ["", t._("Notes:")]
        lines += [f"• {t.short_date(note.day)}: {note.text}" for note in detail.notes]
    return "\n".join(lines)


def detail_keyboard(t: Translator, detail: Detail, *, demographics: bool = False
                    ) -> InlineKeyboardMarkup:
    entry = detail.entry
    enrolment = entry.enrolment.id
    rows = []
    if entry.day.is_attendance_day:
        rows.append(mark_buttons(t, enrolment, entry.day.day))
    rows.append([InlineKeyboardButton("📅 " + t._("Another day"),
                                      callback_data=cb.ChooseAttendanceDay(enrolment).encode()),
                 InlineKeyboardButton("📝 " + t._("Add a note"),
                                      callback_data=cb.WriteNote(enrolment).encode())])
    rows.append([InlineKeyboardButton("📄 " + t._("Attendance statement"),
                                      callback_data=cb.ChooseStatementPeriod(enrolment).encode())])
    required = entry.enrolment.attendance_required
    rows.append([InlineKeyboardButton(
        t._("Daily check-in: switch off") if required else t._("Daily check-in: switch on"),
        callback_data=cb.SetRequirement(enrolment, not required).encode())])
    if demographics:
        rows.append([InlineKeyboardButton(t._("Gender and age"),
                                          callback_data=cb.DemographicsView(enrolment).encode())])
    rows.append([InlineKeyboardButton(t._("End the enrolment"),
                                      callback_data=cb.ExitView(enrolment).encode())])
    rows.append([InlineKeyboardButton("‹ " + t._("All my aspirants"),
                                      callback_data=cb.CaseloadPage(0).encode())])
    return InlineKeyboardMarkup(rows)


def mark_buttons(t: Translator, enrolment: int, day: date) -> list[InlineKeyboardButton]:
    """Present, excused or unexcused on ``day``, recorded by hand."""
    return [
        InlineKeyboardButton("✅ " + t._("Present"),
                             callback_data=cb.MarkAttendance(enrolment, day, "p").encode()),
        InlineKeyboardButton("✔️ " + t._("Excuse"),
                             callback_data=cb.MarkAttendance(enrolment, day, "e").encode()),
        InlineKeyboardButton("❌ " + t._("Unexcused"),
                             callback_data=cb.MarkAttendance(enrolment, day, "u").encode()),
    ]


# --- the statement ----------------------------------------------------------------------
# What proved a day's presence, as the statement names it (most convincing first).
EVIDENCE_NAMES = {
    "code+live_location": N_("code and live location"),
    "code+location_pin": N_("code and location pin"),
    "code": N_("code shown at the job centre"),
    "live_location": N_("live location"),
    "location_pin": N_("location pin (allowed by the job centre)"),
    STAFF: N_("marked by staff"),
    UNKNOWN: N_("check-in, evidence not recorded"),
}


def statement_text(t: Translator, statement: Statement) -> str:
    lines = [t._("Attendance statement: {name}, {centre}", name=statement.name,
                 centre=statement.centre.name),
             t._("Period: {first} to {last}", first=statement.first, last=statement.last),
             "",
             t._("Check-in days: {count}", count=statement.check_in_days),
             t._("Present: {count}", count=statement.present),
             t._("Absent, excused: {count}", count=statement.excused),
             t._("Absent, unexcused: {count}", count=statement.unexcused)]
    by_evidence = statement.presence_by_evidence()
    if by_evidence:
        lines += ["", t._("Present, by what showed it:")]
        for evidence, label in EVIDENCE_NAMES.items():
            if by_evidence.get(evidence):
                lines.append(f"• {t._(label)}: {t.number(by_evidence[evidence])}")
    by_reason = statement.absences_by_reason()
    if by_reason:
        lines += ["", t._("Absences by reason:")]
        for reason in [*absences.REASON_LABELS, None]:
            if by_reason.get(reason):
                lines.append(f"• {reason_label(t, reason)}: {t.number(by_reason[reason])}")
    if statement.not_recorded:
        lines += ["", t._("Check-in days with nothing recorded: {count}",
                          count=statement.not_recorded)]
    return "\n".join(lines)


def statement_csv(t: Translator, statement: Statement) -> bytes:
    """One row per check-in day; UTF-8 with a byte order mark so spreadsheets read it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([t._("Aspirant"), t._("Job centre"), t._("Date"), t._("Weekday"),
                     t._("Status"), t._("Reason"), t._("Checked in at"), t._("Evidence")])
    for line in statement.days:
        absent = line.status in (AttendanceStatus.EXCUSED.value, AttendanceStatus.UNEXCUSED.value)
        writer.writerow([
            statement.name, statement.centre.name, line.day.isoformat(), t.weekday(line.day),
            t._(STATUS_WORDS[line.status]),
            reason_label(t, line.reason) if absent else "",
            t.time(line.checked_in_at) if line.checked_in_at else "",
            t._(EVIDENCE_NAMES.get(line.evidence, EVIDENCE_NAMES[UNKNOWN]))
            if line.evidence else "",
        ])
    return buffer.getvalue().encode("utf-8-sig")


# How the attendance kinds of the outbox are worded and which buttons they carry.
COMPOSERS = {coach_alerts.KIND: _alert_message, DIGEST_KIND: _digest_message}
KEYBOARDS = {coach_alerts.KIND: _alert_buttons, WHY_KIND: _why_buttons,
             "absence_explained": _explained_buttons}
