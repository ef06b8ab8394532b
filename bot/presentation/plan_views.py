"""How job plans are shown: each step's state (two signatures), the aspirant's confirm
buttons, the coach's follow-up after leaving, and the social worker's weekly statement."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import InlineKeyboardButton

from bot.i18n import FSI, N_, PDI, Translator
from bot.models import FollowUpOutcome, MilestoneKind, OutboxMessage, PlanMilestone
from bot.presentation import callbacks as cb
from bot.services.attendance import absences, weekly
from bot.services.attendance import statement as statements
from bot.services.plans import follow_ups, milestones

LABELS = {
    MilestoneKind.FIRST_PLAN: N_("First job plan"),
    MilestoneKind.DEEPENED_PLAN: N_("Deepened job plan"),
    MilestoneKind.REVIEW: N_("Plan review"),
}
OUTCOME_CODES = {"s": FollowUpOutcome.SELF_SUPPORTING,
                 "n": FollowUpOutcome.NOT_SELF_SUPPORTING,
                 "u": FollowUpOutcome.UNKNOWN}
OUTCOME_BUTTONS = {"s": N_("Self-supporting"), "n": N_("Not self-supporting"),
                   "u": N_("Could not find out")}


def label(t: Translator, kind: MilestoneKind | str) -> str:
    return t._(LABELS[MilestoneKind(kind)])


def milestone_line(t: Translator, milestone: PlanMilestone, today: date, *,
                   for_aspirant: bool = False) -> str:
    """One step of the plan: done (both signed), waiting for the aspirant's confirmation,
    overdue, or due."""
    name = label(t, milestone.kind)
    done = milestones.completed_at(milestone)
    if done is not None:
        line = "✅ " + t._("{milestone}: done on {date}", milestone=name,
                          date=t.short_date(done))
    elif milestones.awaiting_confirmation(milestone):
        assert milestone.done_at is not None
        if for_aspirant:
            line = "✍️ " + t._("{milestone}: your coach marked it finished on {date}. Please "
                              "confirm that you have read it.", milestone=name,
                              date=t.short_date(milestone.done_at))
        else:
            line = "✍️ " + t._("{milestone}: finished by the coach on {date}, waiting for the "
                              "aspirant's confirmation", milestone=name,
                              date=t.short_date(milestone.done_at))
    elif milestone.due_on < today:
        line = "⚠️ " + t._("{milestone}: was due on {date}", milestone=name,
                          date=t.short_date(milestone.due_on))
    else:
        line = "⏳ " + t._("{milestone}: due on {date}", milestone=name,
                          date=t.short_date(milestone.due_on))
    if milestone.questions_at is not None and milestone.confirmed_at is None:
        line += "\n    " + ("❓ " + t._("You told your coach you have questions.") if for_aspirant
                            else "❓ " + t._("The aspirant has questions."))
    if milestone.measure_on is not None and not for_aspirant:
        line += "\n    " + t._("A job, studies or another measure started on {date}.",
                               date=t.short_date(milestone.measure_on))
    return line


def confirm_buttons(t: Translator, milestone_id: int) -> list[list[InlineKeyboardButton]]:
    return [[InlineKeyboardButton("✅ " + t._("I have read my plan and agree"),
                                  callback_data=cb.ConfirmPlan(milestone_id, "y").encode())],
            [InlineKeyboardButton("❓ " + t._("I have questions"),
                                  callback_data=cb.ConfirmPlan(milestone_id, "q").encode())]]


def follow_up_buttons(t: Translator, follow_up_id: int) -> list[list[InlineKeyboardButton]]:
    buttons = [InlineKeyboardButton(t._(text), callback_data=cb.FollowUpAnswer(
        follow_up_id, code).encode()) for code, text in OUTCOME_BUTTONS.items()]  # type: ignore[arg-type]
    return [buttons[:2], buttons[2:]]


def outcome_label(t: Translator, outcome: FollowUpOutcome) -> str:
    return t._(follow_ups.OUTCOME_NAMES[outcome])


# --- outbox kinds ------------------------------------------------------------------------
def _confirm_keyboard(message: OutboxMessage, t: Translator) -> list[list[InlineKeyboardButton]]:
    return confirm_buttons(t, int(message.params["id"]))


def _follow_up_keyboard(message: OutboxMessage, t: Translator
                        ) -> list[list[InlineKeyboardButton]]:
    return follow_up_buttons(t, int(message.params["id"]))


# --- the social worker's weekly statement -------------------------------------------------
PLAN_STATES = {
    "done": N_("{milestone}: done on {date}"),
    "confirm": N_("{milestone}: finished by the coach on {date}, waiting for the aspirant's "
                  "confirmation"),
    "overdue": N_("{milestone}: was due on {date}"),
    "due": N_("{milestone}: due on {date}"),
}
PLAN_ICONS = {"done": "✅", "confirm": "✍️", "overdue": "⚠️", "due": "⏳"}
COUNT_WORDS = {
    statements.PRESENT: N_("present {count}"),
    statements.REPORTED: N_("reported, not judged {count}"),
    statements.VALID: N_("valid absence {count}"),
    statements.NOT_VALID: N_("not valid {count}"),
    statements.NO_REASON: N_("no reason given {count}"),
    statements.NOT_RECORDED: N_("not recorded {count}"),
}
ABSENCE_WORDS = {
    statements.REPORTED: N_("{reason}, not judged yet"),
    statements.VALID: N_("{reason}, judged valid by {judge}"),
    statements.NOT_VALID: N_("{reason}, judged not valid by {judge}"),
    statements.NO_REASON: N_("no reason given"),
}


def _reason(t: Translator, value: str) -> str:
    if not value:
        return t._("no reason given")
    return t._(absences.REASON_LABELS[absences.AbsenceReason(value)])


def weekly_text(t: Translator, view: dict[str, Any]) -> str:
    first, last = date.fromisoformat(view["first"]), date.fromisoformat(view["last"])
    lines = [t._("Attendance last week, {first} – {last}, at {centre}:",
                 first=t.short_date(first), last=t.short_date(last), centre=view["centre"])]
    for person in view["aspirants"]:
        lines += ["", f"👤 {FSI}{person['name']}{PDI}"]
        counts = person["counts"]
        if not any(counts.values()):
            if person.get("starts_on"):
                lines.append(t._("Daily check-in from {date}.",
                                 date=t.short_date(date.fromisoformat(person["starts_on"]))))
            else:
                lines.append(t._("No daily check-in in this week."))
        else:
            lines.append(", ".join(t._(COUNT_WORDS[status], count=counts[status])
                                   for status in statements.LINE_STATUSES if counts[status]))
        for day, status, reason, judge in person["absences"]:
            lines.append("  • " + t.short_date(date.fromisoformat(day)) + ": "
                         + t._(ABSENCE_WORDS[status], reason=_reason(t, reason),
                               judge=f"{FSI}{judge}{PDI}"))
        if person.get("left"):
            lines.append(t._("Has left the job centre."))
        for kind, state, day in person["plan"]:
            lines.append(f"  {PLAN_ICONS[state]} " + t._(
                PLAN_STATES[state], milestone=label(t, kind),
                date=t.short_date(date.fromisoformat(day))))
    lines += ["", t._("Whether an absence is valid is judged by the coach. Open /statements "
                      "for a statement as a spreadsheet.")]
    return "\n".join(lines)


def _weekly_message(message: OutboxMessage, t: Translator) -> str:
    return weekly_text(t, message.params)


COMPOSERS = {weekly.KIND: _weekly_message}
KEYBOARDS = {milestones.CONFIRM_KIND: _confirm_keyboard, follow_ups.KIND: _follow_up_keyboard}
