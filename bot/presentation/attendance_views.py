"""How attendance is shown: alerts, digests, the caseload, statements, reason buttons.

The coach's alert and digest are queued with plain data and worded here when
sent (see ``bot.presentation.render``), so they come in the coach's language
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
from bot.services.attendance import policy as attendance_policy
from bot.services.attendance import statement as statements
from bot.services.attendance.caseload import Detail, Entry, Today
from bot.services.attendance.statement import STAFF, UNKNOWN, Statement
from bot.services.attendance.sweep import DIGEST_KIND, STREAK, WHY_KIND, WINDOW

# Telegram allows 100 buttons on a message: at most 5 per aspirant, and one "seen".
ALERT_ITEMS_WITH_BUTTONS = 19
# At most three buttons in a row, so each fits a phone's width with its number.
JUDGE_ACTIONS = (("v", "✔️", N_("Valid")), ("x", "❌", N_("Not valid")),
                 ("p", "✅", N_("Present")))
FOLLOW_ACTIONS = (("c", "📞", N_("Contacted")), ("n", "📝", N_("Note")))
DONE = {"valid": N_("valid absence"), "excused": N_("valid absence"),
        "not_valid": N_("absence not valid"), "present": N_("marked present"),
        "contacted": N_("contacted"), "noted": N_("note added")}
MILESTONES = {MilestoneKind.FIRST_PLAN: N_("First job plan"),
              MilestoneKind.DEEPENED_PLAN: N_("Deepened job plan"),
              MilestoneKind.REVIEW: N_("Plan review")}
STATUS_ICONS = {AttendanceStatus.PRESENT: "✅", AttendanceStatus.REPORTED: "🤒",
                AttendanceStatus.EXCUSED: "✔️", AttendanceStatus.UNEXCUSED: "❌", None: "·"}
# A statement line's status, as words.
STATUS_WORDS = {statements.PRESENT: N_("present"),
                statements.REPORTED: N_("absent, reason reported, not judged yet"),
                statements.VALID: N_("absent, judged valid"),
                statements.NOT_VALID: N_("absent, judged not valid"),
                statements.NO_REASON: N_("absent, no reason given"),
                statements.NOT_RECORDED: N_("not recorded")}
JUDGEMENT_WORDS = {statements.VALID: N_("valid"), statements.NOT_VALID: N_("not valid")}
# A day's record, as words (an unexcused day was judged not valid or has no reason).
RECORD_WORDS = {AttendanceStatus.PRESENT: N_("present"),
                AttendanceStatus.REPORTED: N_("absent, reason reported, not judged yet"),
                AttendanceStatus.EXCUSED: N_("absent, judged valid"),
                AttendanceStatus.UNEXCUSED: N_("absent, no reason given"),
                None: N_("not recorded")}


def name(value: str) -> str:
    """A person's name isolated from the text around it (it may run the other way)."""
    return f"{FSI}{value}{PDI}"


def reason_label(t: Translator, reason: AbsenceReason | str | None) -> str:
    if reason is None:
        return t._("no reason given")
    return t._(absences.REASON_LABELS[AbsenceReason(reason)])


def reason_keyboard(t: Translator, data: Callable[[str], Callback], *,
                    cancel: Callback | None = None, reasons: list[str] | None = None
                    ) -> InlineKeyboardMarkup:
    """One button per absence reason the centre offers (``reasons``: their values; None:
    all); ``data(code)`` is what each button carries."""
    buttons = [InlineKeyboardButton(reason_label(t, reason), callback_data=data(code).encode())
               for code, reason in absences.REASON_CODES.items()
               if reasons is None or reason.value in reasons]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    if cancel is not None:
        rows.append([InlineKeyboardButton(t._("Cancel"), callback_data=cancel.encode())])
    return InlineKeyboardMarkup(rows)


# --- the coach's alert ------------------------------------------------------------------
def answer_text(t: Translator, reason: str, note: str) -> str:
    """The aspirant's answer to "why?" as shown to the coach."""
    if not reason:
        return t._("No answer yet.")
    if note:
        return t._("Answer: {reason} ({note})", reason=reason_label(t, reason), note=name(note))
    return t._("Answer: {reason}", reason=reason_label(t, reason))


def alert_text(t: Translator, view: dict[str, Any]) -> str:
    day = date.fromisoformat(view["day"])
    if view.get("updated"):
        heading = t._("Update to the alert of {date} at {centre}: an aspirant has answered.",
                      date=day, centre=view["centre"])
    elif view.get("again"):
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
        if item["action"] != "present":
            lines.append("    💬 " + answer_text(t, item.get("answer", ""), item.get("note", "")))
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
        lines += ["", t._("They were asked why. Whether an absence is valid is your judgement: "
                          "the number on each button is the aspirant's.")]
        if len(view["items"]) > ALERT_ITEMS_WITH_BUTTONS:
            lines.append(t._("More aspirants than buttons: see /caseload for the rest."))
    return "\n".join(lines)


def _alert_button(t: Translator, number: int, item_id: int,
                  action: tuple[str, str, str]) -> InlineKeyboardButton:
    code, icon, label = action
    return InlineKeyboardButton(f"{number} {icon} {t._(label)}",
                                callback_data=cb.AlertAction(item_id, code).encode())  # type: ignore[arg-type]


def alert_keyboard(t: Translator, view: dict[str, Any], *, acknowledged: bool = False
                   ) -> InlineKeyboardMarkup | None:
    """Each aspirant's buttons carry their number, three to a row at most. A judgement
    made can be changed with one tap: the other judgement stays."""
    rows: list[list[InlineKeyboardButton]] = []
    for number, item in enumerate(view["items"][:ALERT_ITEMS_WITH_BUTTONS], start=1):
        action = item["action"]
        if action == "present":
            continue
        if action in ("valid", "excused"):
            rows.append([_alert_button(t, number, item["id"], JUDGE_ACTIONS[1])])
        elif action == "not_valid":
            rows.append([_alert_button(t, number, item["id"], JUDGE_ACTIONS[0])])
        else:
            rows.append([_alert_button(t, number, item["id"], a) for a in JUDGE_ACTIONS])
            rows.append([_alert_button(t, number, item["id"], a) for a in FOLLOW_ACTIONS])
    open_items = any(not item["action"] for item in view["items"])
    if open_items and not acknowledged:
        rows.append([InlineKeyboardButton("👍 " + t._("Seen, I'll follow up"),
                                          callback_data=cb.AlertSeen(view["alert"]).encode())])
    return InlineKeyboardMarkup(rows) if rows else None


def _alert_message(message: OutboxMessage, t: Translator) -> str:
    return alert_text(t, message.params)


def _alert_buttons(message: OutboxMessage, t: Translator) -> list[list[InlineKeyboardButton]]:
    markup = alert_keyboard(t, message.params)
    return [list(row) for row in markup.inline_keyboard] if markup else []


# --- the aspirant is asked why, the coach hears the answer and judges -------------------
def _why_buttons(message: OutboxMessage, t: Translator) -> list[list[InlineKeyboardButton]]:
    record = int(message.params["record"])
    markup = reason_keyboard(t, lambda code: cb.WhyAbsent(record, code),
                             reasons=message.params.get("reasons"))
    return [list(row) for row in markup.inline_keyboard]


def judge_buttons(t: Translator, data: Callable[[str], Callback], *,
                  judged: str | None = None) -> list[InlineKeyboardButton]:
    """Valid / not valid; after a judgement, the other one, to change it."""
    buttons = []
    if judged != "v":
        buttons.append(InlineKeyboardButton("✔️ " + t._("Valid absence"),
                                            callback_data=data("v").encode()))
    if judged != "x":
        buttons.append(InlineKeyboardButton("❌ " + t._("Not valid"),
                                            callback_data=data("x").encode()))
    return buttons


def judged_line(t: Translator, verdict: str, judge: str) -> str:
    if verdict == "v":
        return "✓ " + t._("Judged valid by {name}.", name=name(judge))
    return "✓ " + t._("Judged not valid by {name}.", name=name(judge))


def _explained_buttons(message: OutboxMessage, t: Translator
                       ) -> list[list[InlineKeyboardButton]]:
    record = int(message.params["record"])
    return [judge_buttons(t, lambda verdict: cb.JudgeRecord(record, verdict))]  # type: ignore[arg-type]


def _reported_buttons(message: OutboxMessage, t: Translator
                      ) -> list[list[InlineKeyboardButton]]:
    report = message.params.get("report")
    if report is None:  # queued by an earlier release
        return []
    return [judge_buttons(t, lambda verdict: cb.JudgeReport(int(report), verdict))]  # type: ignore[arg-type]


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
            return "🤒 " + t._("reported absent: {reason}, waiting for your judgement",
                              reason=reason or "—")
        case Today.EXCUSED:
            return "✔️ " + (t._("valid absence: {reason}", reason=reason) if reason
                           else t._("valid absence"))
        case Today.NOT_VALID:
            return "❌ " + (t._("absence not valid: {reason}", reason=reason) if reason
                           else t._("absence not valid"))
        case Today.ABSENT:
            return "❌ " + t._("absent, no reason given")
        case Today.NOT_STARTED:
            starts = attendance_policy.attendance_starts_on(entry.enrolment)
            if starts is None:
                return t._("daily check-in starts the day after the intake")
            return t._("daily check-in starts {date}", date=t.short_date(starts))
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
    from bot.presentation import plan_views

    entry = detail.entry
    enrolment = entry.enrolment
    starts = attendance_policy.attendance_starts_on(enrolment)
    if not enrolment.attendance_required:
        requirement = t._("not required")
    elif starts is None:
        requirement = t._("required, from the day after the intake")
    else:
        requirement = t._("required from {date}", date=t.short_date(starts))
    lines = [f"{name(entry.name)} — {detail.centre.name}",
             t._("Daily check-in: {answer}", answer=requirement),
             t._("Today: {status}", status=today_text(t, entry))]
    if enrolment.intake_on is not None:
        lines.append(t._("Intake: {date}", date=t.short_date(enrolment.intake_on)))
    worker = enrolment.social_worker
    if worker is not None and worker.erased_at is None:
        lines.append(t._("Social worker: {name}", name=name(worker.display_name or "?")))
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
        lines += [f"• {plan_views.milestone_line(t, m, entry.day.day)}"
                  for m in detail.milestones]
    if detail.notes:
        lines += ["", t._("Notes:")]
        lines += [f"• {t.short_date(note.day)}: {note.text}" for note in detail.notes]
    return "\n".join(lines)


def detail_keyboard(t: Translator, detail: Detail, *, demographics: bool = False
                    ) -> InlineKeyboardMarkup:
    entry = detail.entry
    enrolment = entry.enrolment.id
    rows = []
    if entry.day.is_attendance_day and attendance_policy.required_on(entry.enrolment,
                                                                     entry.day.day):
        rows.append(mark_buttons(t, enrolment, entry.day.day))
    rows.append([InlineKeyboardButton("📅 " + t._("Another day"),
                                      callback_data=cb.ChooseAttendanceDay(enrolment).encode()),
                 InlineKeyboardButton("📝 " + t._("Add a note"),
                                      callback_data=cb.WriteNote(enrolment).encode())])
    rows.append([InlineKeyboardButton("📄 " + t._("Attendance statement"),
                                      callback_data=cb.ChooseStatementPeriod(enrolment).encode()),
                 InlineKeyboardButton("👤 " + t._("Social worker"),
                                      callback_data=cb.ChooseSocialWorker(enrolment).encode())])
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
    """Present, or an absence judged valid or not valid on ``day``, recorded by hand."""
    return [
        InlineKeyboardButton("✅ " + t._("Present"),
                             callback_data=cb.MarkAttendance(enrolment, day, "p").encode()),
        InlineKeyboardButton("✔️ " + t._("Valid"),
                             callback_data=cb.MarkAttendance(enrolment, day, "e").encode()),
        InlineKeyboardButton("❌ " + t._("Not valid"),
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
             t._("Period: {first} to {last}", first=statement.first, last=statement.last)]
    if statement.enrolment.attendance_required and statement.starts_on is None:
        lines.append(t._("The daily check-in starts the day after the intake; no intake is "
                         "recorded yet."))
    elif statement.starts_on is not None and statement.starts_on > statement.first:
        lines.append(t._("The daily check-in started on {date}.", date=statement.starts_on))
    lines += ["",
              t._("Check-in days: {count}", count=statement.check_in_days),
              t._("Present: {count}", count=statement.present),
              t._("Absent, judged valid by the coach: {count}", count=statement.valid),
              t._("Absent, judged not valid by the coach: {count}", count=statement.not_valid),
              t._("Absent, reason reported, not judged yet: {count}", count=statement.reported),
              t._("Absent, no reason given: {count}", count=statement.no_reason)]
    by_evidence = statement.presence_by_evidence()
    if by_evidence:
        lines += ["", t._("Present, by what showed it:")]
        for evidence, label in EVIDENCE_NAMES.items():
            if by_evidence.get(evidence):
                lines.append(f"• {t._(label)}: {t.number(by_evidence[evidence])}")
    by_reason = statement.absences_by_reason()
    if by_reason:
        lines += ["", t._("Absences by the reason reported:")]
        for reason in [*absences.REASON_LABELS, None]:
            if by_reason.get(reason):
                lines.append(f"• {reason_label(t, reason)}: {t.number(by_reason[reason])}")
    judged = [d for d in statement.days if d.judged_by]
    if judged:
        lines += ["", t._("Judged by:")]
        for line in judged:
            lines.append(f"• {t.short_date(line.day)}: {t._(JUDGEMENT_WORDS[line.status])}, "
                         f"{name(line.judged_by or '?')}")
    if statement.not_recorded:
        lines += ["", t._("Check-in days with nothing recorded: {count}",
                          count=statement.not_recorded)]
    return "\n".join(lines)


def statement_csv(t: Translator, statement: Statement) -> bytes:
    """One row per check-in day; UTF-8 with a byte order mark so spreadsheets read it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([t._("Aspirant"), t._("Job centre"), t._("Date"), t._("Weekday"),
                     t._("Status"), t._("Reason reported"), t._("Judgement"),
                     t._("Judged by"), t._("Checked in at"), t._("Evidence")])
    for line in statement.days:
        absent = line.status in statements.ABSENT
        writer.writerow([
            statement.name, statement.centre.name, line.day.isoformat(), t.weekday(line.day),
            t._(STATUS_WORDS[line.status]),
            reason_label(t, line.reason) if absent else "",
            t._(JUDGEMENT_WORDS[line.status]) if line.status in JUDGEMENT_WORDS else "",
            line.judged_by or "",
            t.time(line.checked_in_at) if line.checked_in_at else "",
            t._(EVIDENCE_NAMES.get(line.evidence, EVIDENCE_NAMES[UNKNOWN]))
            if line.evidence else "",
        ])
    return buffer.getvalue().encode("utf-8-sig")


# How the attendance kinds of the outbox are worded and which buttons they carry.
COMPOSERS = {coach_alerts.KIND: _alert_message, DIGEST_KIND: _digest_message}
KEYBOARDS = {coach_alerts.KIND: _alert_buttons, WHY_KIND: _why_buttons,
             "absence_explained": _explained_buttons, "absence_notice": _reported_buttons}
