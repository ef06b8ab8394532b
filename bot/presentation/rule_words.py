"""How reminder rules are put into words for staff: events, audiences, timings."""

from __future__ import annotations

from bot.i18n import N_, Translator
from bot.models import Audience, EventKind, ReminderRule, Role
from bot.presentation.views import ROLE_NOUNS
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders.rules import RuleSpec

EVENT_NAMES = {
    EventKind.INFO_SESSION: N_("information session"),
    EventKind.FIRST_PLAN: N_("first job plan"),
    EventKind.DEEPENED_PLAN: N_("deepened job plan"),
    EventKind.REVIEW: N_("plan review"),
    EventKind.CHECK_IN: N_("daily check-in"),
}
AUDIENCE_NAMES = {
    Audience.ASPIRANT: ROLE_NOUNS[Role.ASPIRANT],
    Audience.COACH: ROLE_NOUNS[Role.COACH],
    Audience.TEAM_LEAD: ROLE_NOUNS[Role.TEAM_LEAD],
}
TIMING_PROMPT = N_(
    "When should the reminder go out? Send the time from the event, for example:\n"
    "-1d = 1 day before, at the same time\n"
    "-2h = 2 hours before\n"
    "-15m = 15 minutes before\n"
    "-2wd 09:00 = 2 working days before, at 09:00\n"
    "0 09:00 = on the day, at 09:00\n"
    "+1wd 09:00 = the next working day, at 09:00\n"
    "Plan deadlines have no time of day: without a time, the reminder goes out at 09:00.")


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def describe_timing(t: Translator, spec: RuleSpec | ReminderRule) -> str:
    """The timing in words, e.g. "2 working days before, at 09:00"."""
    parts = []
    if spec.offset_days:
        n, before = abs(spec.offset_days), spec.offset_days < 0
        if spec.working_days:
            parts.append(t.ngettext("{count} working day before", "{count} working days before",
                                    n) if before else
                         t.ngettext("{count} working day after", "{count} working days after", n))
        else:
            parts.append(t.ngettext("{count} day before", "{count} days before", n) if before
                         else t.ngettext("{count} day after", "{count} days after", n))
    if spec.offset_minutes:
        n, before = abs(spec.offset_minutes), spec.offset_minutes < 0
        if n % 60 == 0:
            parts.append(t.ngettext("{count} hour before", "{count} hours before", n // 60)
                         if before else
                         t.ngettext("{count} hour after", "{count} hours after", n // 60))
        else:
            parts.append(t.ngettext("{count} minute before", "{count} minutes before", n)
                         if before else
                         t.ngettext("{count} minute after", "{count} minutes after", n))
    timed = spec.event_kind in reminder_rules.TIMED_EVENTS
    if not parts:
        parts.append(t._("at the time of the event") if timed and spec.at_local_time is None
                     else t._("on the day"))
    text = ", ".join(parts)
    if spec.at_local_time is not None:
        return t._("{when}, at {time}", when=text, time=t.time(spec.at_local_time))
    if timed and spec.offset_days and not spec.offset_minutes:
        return t._("{when}, at the same time", when=text)
    return text
