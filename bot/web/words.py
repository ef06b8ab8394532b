"""Plain words for codes the database keeps: why a message was not sent, what it was."""

from __future__ import annotations

from bot.i18n import N_, Translator
from bot.models import EventKind, OutboxStatus
from bot.presentation.rule_words import EVENT_NAMES

# Why an outbox row was skipped or cancelled (its ``skip_reason``), for staff to read.
SKIP_REASONS = {
    "quiet_hours": N_("it would have fallen in the quiet hours"),
    "merged": N_("another reminder reached them at the same moment"),
    "expired": N_("it was too late to be useful"),
    "no_recipient": N_("the person can no longer be reached in Telegram"),
    "unreachable": N_("the person has blocked the bot or left Telegram"),
    "rule_disabled": N_("its reminder rule was switched off"),
    "rule_changed": N_("its reminder rule was changed"),
    "settings_changed": N_("the quiet hours or deadline counting were changed"),
    "policy_changed": N_("the attendance policy was changed"),
    "booking_cancelled": N_("the booking was cancelled"),
    "session_cancelled": N_("the information session was cancelled"),
    "session_changed": N_("the information session was changed"),
    "rebooked": N_("the aspirant booked another information session"),
    "attendance_recorded": N_("attendance at the session was already recorded"),
    "milestone_done": N_("the plan was already done"),
    "milestone_cancelled": N_("the plan deadline was withdrawn"),
    "enrolment_ended": N_("the aspirant has left the job centre"),
    "no_requirement": N_("the aspirant no longer has a daily check-in"),
    "requirement_changed": N_("the daily check-in requirement was changed"),
    "checked_in_or_absent": N_("the aspirant had already checked in or reported an absence"),
    "person_erased": N_("the person's data was erased"),
    "rescheduled": N_("the event was moved"),
    "reachable_again": N_("the person could be reached again, so it was planned anew"),
}

STATUS_NAMES = {
    OutboxStatus.PENDING: N_("planned"),
    OutboxStatus.SENDING: N_("being sent"),
    OutboxStatus.SENT: N_("sent"),
    OutboxStatus.FAILED: N_("could not be sent"),
    OutboxStatus.SKIPPED: N_("not sent"),
    OutboxStatus.CANCELLED: N_("cancelled"),
}

KIND_NAMES = {
    "attendance_alert": N_("attendance alert"),
    "absence_why": N_("question about an absence"),
    "attendance_digest": N_("daily summary"),
    "attendance_escalation": N_("absence escalation"),
    "absence_notice": N_("absence notice"),
    "absence_explained": N_("absence explained"),
    "coach_notice": N_("notice to the coach"),
    "session_changed": N_("information session changed"),
    "session_cancelled": N_("information session cancelled"),
    "session_offer": N_("offer of a new information session"),
    "reply": N_("reply in the chat"),
    "notice": N_("notice"),
}


def skip_reason(t: Translator, code: str | None) -> str:
    if not code:
        return t._("no reason recorded")
    if code in SKIP_REASONS:
        return t._(SKIP_REASONS[code])
    return code  # a reason added later: its code is still telling


def status_name(t: Translator, status: OutboxStatus) -> str:
    return t._(STATUS_NAMES[status])


def kind_name(t: Translator, kind: str) -> str:
    """``reminder.first_plan`` → "reminder: first job plan"."""
    if kind.startswith("reminder."):
        try:
            event = EventKind(kind.removeprefix("reminder."))
        except ValueError:
            return kind
        return t._("reminder: {event}", event=t._(EVENT_NAMES[event]))
    if kind in KIND_NAMES:
        return t._(KIND_NAMES[kind])
    return kind
