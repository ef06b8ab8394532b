"""The planner's arithmetic: for one event, the reminders its rules want.

Who gets what, when and until when: offsets in days (working days on the centre's
calendar, on local dates, so "the day before at the same time" is right across a
daylight-saving change) and minutes (elapsed time), quiet hours that move a reminder to
the next allowed time if it is still useful then (else it is kept as skipped, with the
reason), and one reminder where two land on the same moment for the same person.

It works on plain facts (``events.py``, ``centre_facts.py``), not on ORM rows, so the
same arithmetic serves one booking changed in a chat and a whole city planned in chunks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar
from bot.i18n import N_, Term
from bot.models import Audience, EventKind, MilestoneKind, ReminderRule
from bot.services.attendance.days import is_attendance_day, required_on
from bot.services.reminders import centre_facts
from bot.services.reminders.centre_facts import CentreFacts
from bot.services.reminders.events import (
    BookingFacts,
    EnrolmentFacts,
    MilestoneFacts,
    Recipient,
)
from bot.services.reminders.quiet_hours import CentreReminderSettings

# A rule for a date-only event (a deadline) with no time of its own fires at this time.
DEFAULT_DEADLINE_TIME = time(9, 0)
KIND_PREFIX = "reminder."
# Check-in reminders are planned this many local days ahead (today included); an
# hourly job moves the horizon on.
CHECK_IN_HORIZON_DAYS = 2
# A reminder before the check-in window is still worth sending this long after its time.
CHECK_IN_VALIDITY = timedelta(hours=2)
# A reminder at the very start of a session is still worth sending this long after it.
SESSION_START_VALIDITY = timedelta(minutes=15)

MILESTONE_NAMES: dict[MilestoneKind, str] = {
    MilestoneKind.FIRST_PLAN: N_("first job plan"),
    MilestoneKind.DEEPENED_PLAN: N_("deepened job plan"),
    MilestoneKind.REVIEW: N_("plan review"),
}
MILESTONE_EVENT = {
    MilestoneKind.FIRST_PLAN: EventKind.FIRST_PLAN,
    MilestoneKind.DEEPENED_PLAN: EventKind.DEEPENED_PLAN,
    MilestoneKind.REVIEW: EventKind.REVIEW,
}

_SESSION_TEXTS = {
    (Audience.ASPIRANT, "before"): N_(
        "Reminder: your information session at the job centre is on {date} at {time}.\n"
        "Place: {place}"),
    (Audience.ASPIRANT, "after"): N_(
        "The information session on {date} at {time} has taken place. If you could not "
        "come, please book a new time under “My schedule”."),
    (Audience.COACH, "before"): N_(
        "{name} is booked for the information session on {date} at {time}."),
    (Audience.COACH, "after"): N_(
        "Please record whether {name} came to the information session on {date} at {time} "
        "(/sessions)."),
}
_MILESTONE_TEXTS = {
    (Audience.ASPIRANT, "before"): N_(
        "Reminder: your {milestone} is due on {date}. Your coach will help you with it."),
    (Audience.ASPIRANT, "on"): N_(
        "Today, {date}, is the deadline for your {milestone}. Please make sure it is done "
        "together with your coach."),
    (Audience.ASPIRANT, "after"): N_(
        "Your {milestone} was due on {date} and is not marked as done yet. Please contact "
        "your coach."),
    (Audience.COACH, "before"): N_("The {milestone} of {name} is due on {date}."),
    (Audience.COACH, "on"): N_(
        "The {milestone} of {name} is due today, {date}. Mark it done with /plan."),
    (Audience.COACH, "after"): N_(
        "Overdue: the {milestone} of {name} was due on {date}. Mark it done with /plan "
        "when it is."),
    (Audience.TEAM_LEAD, "before"): N_(
        "The {milestone} of {name} (coach: {coach}) is due on {date}."),
    (Audience.TEAM_LEAD, "on"): N_(
        "The {milestone} of {name} (coach: {coach}) is due today, {date}."),
    (Audience.TEAM_LEAD, "after"): N_(
        "Overdue: the {milestone} of {name} (coach: {coach}) was due on {date}."),
}
_CHECK_IN_TEXT = N_("Good morning! Remember to check in at the job centre today. "
                    "Check-in opens at {time}.")


def default_text(kind: EventKind, audience: Audience, phase: str) -> str:
    """The built-in text (an N_ message id) for a rule that has no text of its own."""
    if kind == EventKind.CHECK_IN:
        return _CHECK_IN_TEXT
    if kind == EventKind.INFO_SESSION:
        staff = Audience.ASPIRANT if audience == Audience.ASPIRANT else Audience.COACH
        return _SESSION_TEXTS[(staff, "after" if phase == "after" else "before")]
    return _MILESTONE_TEXTS[(audience, phase)]


def phase_of(rule: ReminderRule) -> str:
    total = rule.offset_days * 24 * 60 + rule.offset_minutes
    return "before" if total < 0 else "after" if total > 0 else "on"


@dataclass
class Planned:
    """One reminder the rules want: to whom, when, and until when it makes sense."""

    rule: ReminderRule
    recipient: Recipient
    due_at: datetime
    expires_at: datetime | None
    template: str
    params: dict[str, Any]
    skip_reason: str | None = None

    @property
    def key(self) -> tuple[int, int, datetime]:
        return (self.rule.id, self.recipient.id, self.due_at)


def _end_of_day(day: date, zone: ZoneInfo) -> datetime:
    return _at(day + timedelta(days=1), time(0), zone)


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A local wall-clock time as UTC (a time inside a DST gap moves forward)."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def booking_key(booking_id: int) -> str:
    return f"bk:{booking_id}"


def milestone_key(milestone_id: int) -> str:
    return f"ms:{milestone_id}"


def check_in_key(enrolment_id: int, day: date) -> str:
    return f"ci:{enrolment_id}:{day.isoformat()}"


class Planner:
    """One planning pass over some events: caches each centre's facts, due times and quiet
    hours moves for the pass (a pass is one chunk, so the caches stay small)."""

    def __init__(self, db: Session, now: datetime) -> None:
        self.db = db
        self.now = now
        self._centres: dict[int, CentreFacts] = {}
        self._due: dict[tuple[int, int, date, time | None], datetime] = {}
        self._moved: dict[tuple[int, datetime], datetime] = {}
        self._attendance_days: dict[tuple[int, date], bool] = {}

    # --- per-centre facts ----------------------------------------------------------------
    def preload(self, centre_ids: Iterable[int]) -> None:
        """Read the facts of these centres at once (a chunk's centres)."""
        missing = set(centre_ids) - set(self._centres)
        if missing:
            self._centres.update(centre_facts.load(self.db, missing))

    def centre(self, centre_id: int) -> CentreFacts:
        if centre_id not in self._centres:
            self.preload([centre_id])
        return self._centres[centre_id]

    def rules(self, centre_id: int, kind: EventKind) -> list[ReminderRule]:
        return self.centre(centre_id).rules_for(kind)

    def settings(self, centre_id: int) -> CentreReminderSettings:
        return self.centre(centre_id).settings

    def calendar(self, centre_id: int) -> WorkCalendar:
        return self.centre(centre_id).calendar

    def zone(self, centre_id: int) -> ZoneInfo:
        return self.centre(centre_id).zone

    def today(self, centre_id: int) -> date:
        return self.now.astimezone(self.zone(centre_id)).date()

    def check_in_days(self, centre_id: int) -> list[date]:
        """The local days whose check-in reminders are planned now (today first)."""
        today = self.today(centre_id)
        return [today + timedelta(days=n) for n in range(CHECK_IN_HORIZON_DAYS)]

    def audience(self, audience: Audience, enrolment: EnrolmentFacts) -> list[Recipient]:
        if audience == Audience.ASPIRANT:
            people = [enrolment.aspirant]
        elif audience == Audience.COACH:
            people = [enrolment.coach] if enrolment.coach is not None else []
        else:
            people = self.centre(enrolment.centre_id).team_leads
        return [p for p in people if p.reachable]

    def due(self, rule: ReminderRule, centre_id: int, day: date, clock: time | None) -> datetime:
        """When ``rule`` fires for an event on local ``day`` (at local ``clock``, if timed)."""
        key = (rule.id, centre_id, day, clock) if rule.id is not None else None
        if key is not None and key in self._due:
            return self._due[key]
        if rule.offset_days:
            if rule.working_days:
                day = self.calendar(centre_id).add_working_days(day, rule.offset_days)
            else:
                day = day + timedelta(days=rule.offset_days)
        moment = _at(day, rule.at_local_time or clock or DEFAULT_DEADLINE_TIME,
                     self.zone(centre_id))
        moment += timedelta(minutes=rule.offset_minutes)
        if key is not None:
            self._due[key] = moment
        return moment

    # --- events ------------------------------------------------------------------------
    def booking(self, booking: BookingFacts, enrolment: EnrolmentFacts | None) -> list[Planned]:
        """``enrolment``: the aspirant's open enrolment at the session's centre, if any."""
        if not booking.live or enrolment is None:
            return []
        centre = self.centre(booking.centre_id)
        start = booking.starts_at.astimezone(centre.zone)
        day, clock = start.date(), start.time().replace(tzinfo=None)
        params = {"date": day, "time": clock, "place": booking.place or centre.address,
                  "centre": centre.name, "name": enrolment.aspirant.name or "?"}
        planned = []
        for rule in centre.rules_for(EventKind.INFO_SESSION):
            phase = phase_of(rule)
            due = self.due(rule, centre.id, day, clock)
            if phase == "before":
                expires = booking.starts_at
            elif phase == "on":
                expires = booking.starts_at + SESSION_START_VALIDITY
            else:
                expires = _end_of_day(due.astimezone(centre.zone).date(), centre.zone)
            for person in self.audience(rule.audience, enrolment):
                extra = {"booking_id": booking.id} if rule.audience == Audience.ASPIRANT else {}
                planned.append(self._item(rule, person, due, expires, EventKind.INFO_SESSION,
                                          {**params, **extra}))
        return self._finish(planned, centre)

    def milestone(self, milestone: MilestoneFacts) -> list[Planned]:
        enrolment = milestone.enrolment
        if not enrolment.open or not milestone.open:
            return []
        centre = self.centre(enrolment.centre_id)
        kind = MILESTONE_EVENT[milestone.kind]
        coach = enrolment.coach
        params = {"milestone": Term(MILESTONE_NAMES[milestone.kind]),
                  "date": milestone.due_on, "name": enrolment.aspirant.name or "?",
                  "coach": (coach.name if coach is not None else None) or "—",
                  "centre": centre.name}
        planned = []
        for rule in centre.rules_for(kind):
            due = self.due(rule, centre.id, milestone.due_on, None)
            if phase_of(rule) == "after":
                expires = _end_of_day(due.astimezone(centre.zone).date(), centre.zone)
            else:
                expires = _end_of_day(milestone.due_on, centre.zone)
            for person in self.audience(rule.audience, enrolment):
                extra = {"milestone_id": milestone.id} if rule.audience != Audience.ASPIRANT \
                    else {}
                planned.append(self._item(rule, person, due, expires, kind, {**params, **extra}))
        return self._finish(planned, centre)

    def check_in(self, enrolment: EnrolmentFacts, day: date, recorded: bool) -> list[Planned]:
        """``recorded``: the day already has a check-in, a mark or a reported absence."""
        # No check-in reminder before the requirement starts (the day after the intake).
        if not required_on(enrolment, day) or not enrolment.open or recorded:
            return []
        centre = self.centre(enrolment.centre_id)
        if not self._attendance_day(centre, day):
            return []
        opens = centre.window_start
        params = {"date": day, "time": opens, "centre": centre.name,
                  "name": enrolment.aspirant.name or "?"}
        planned = []
        for rule in centre.rules_for(EventKind.CHECK_IN):
            due = self.due(rule, centre.id, day, opens)
            expires = due + CHECK_IN_VALIDITY if phase_of(rule) != "after" else \
                _end_of_day(day, centre.zone)
            for person in self.audience(rule.audience, enrolment):
                planned.append(self._item(rule, person, due, expires, EventKind.CHECK_IN,
                                          params))
        return self._finish(planned, centre)

    def _item(self, rule: ReminderRule, person: Recipient, due: datetime,
              expires: datetime | None, kind: EventKind, params: dict[str, Any]) -> Planned:
        params = dict(params)
        if rule.texts:
            # The rule's own words travel with the row; the dispatcher picks the language.
            params["_texts"] = dict(rule.texts)
        return Planned(rule, person, due, expires, default_text(kind, rule.audience,
                                                                 phase_of(rule)), params)

    def _finish(self, planned: list[Planned], centre: CentreFacts) -> list[Planned]:
        """Apply quiet hours, and keep one reminder where two land on the same moment."""
        for item in planned:
            moved = self._next_allowed(centre, item.due_at)
            if moved == item.due_at:
                continue
            if item.expires_at is not None and moved >= item.expires_at:
                item.skip_reason = "quiet_hours"
            else:
                item.due_at = moved
        if len(planned) < 2:
            return planned  # nothing to merge
        seen: set[tuple[int, datetime]] = set()
        for item in sorted(planned, key=lambda p: (p.due_at, -abs(p.rule.offset_days * 1440
                                                                   + p.rule.offset_minutes))):
            if item.skip_reason is not None:
                continue
            slot = (item.recipient.id, item.due_at)
            if slot in seen:
                item.skip_reason = "merged"
            seen.add(slot)
        return planned

    def _attendance_day(self, centre: CentreFacts, day: date) -> bool:
        key = (centre.id, day)
        if key not in self._attendance_days:
            self._attendance_days[key] = is_attendance_day(centre, centre.calendar, day)
        return self._attendance_days[key]

    def _next_allowed(self, centre: CentreFacts, moment: datetime) -> datetime:
        key = (centre.id, moment)
        if key not in self._moved:
            self._moved[key] = centre.settings.quiet.next_allowed(moment, centre.zone)
        return self._moved[key]
