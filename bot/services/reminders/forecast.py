"""What a draft reminder rule would send in the coming days, to whom, and what would stop it.

An admin editing a rule sees, before saving, the messages the rule would produce for
the events known now (bookings, open plan deadlines, daily check-ins): when each goes
out, to whom, in which language, and which are moved or skipped by quiet hours, merged
with another reminder at the same moment, or moved by the centre's closed days.

The draft goes through the real planner (bot/services/reminders/planner.py) with the
rules it would sit among, so the preview and what saving plans cannot drift apart.
Nothing is stored: the draft rule is never added to the session, and the caller rolls
its unit of work back (the planner may create a centre's default attendance policy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar, local_date
from bot.models import (
    Booking,
    BookingStatus,
    Enrolment,
    EventKind,
    InfoSession,
    JobCentre,
    Person,
    PlanMilestone,
    ReminderRule,
)
from bot.services.attendance.days import required_on, weekdays_of
from bot.services.reminders import events
from bot.services.reminders import planner as reminders
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders.centre_facts import CentreFacts
from bot.services.reminders.rules import RuleSpec

HORIZON_DAYS = 14
# The id a rule not saved yet has in the preview.
DRAFT_ID = 0

SEND = "send"
MOVED = "moved"  # by quiet hours, to their end
QUIET_HOURS = "quiet_hours"  # skipped: too late once the quiet hours are over
MERGED = "merged"  # another reminder reaches the same person at the same moment


@dataclass(frozen=True)
class ForecastMessage:
    due_at: datetime  # UTC, when it goes out (for a skipped one: when it was meant to)
    planned_at: datetime  # UTC, before quiet hours
    outcome: str
    centre_id: int
    recipient_id: int
    recipient_name: str | None  # None: the viewer may not see who it is
    audience: str
    language: str
    event_day: date | None
    # A working-day offset that lands elsewhere because of the centre's closed days.
    closed_day_moved: bool = False


@dataclass(frozen=True)
class NoCheckIn:
    """A check-in day the policy would have but the centre is closed (or a holiday)."""

    day: date
    centre_id: int
    aspirants: int


@dataclass
class Forecast:
    first: datetime
    last: datetime
    messages: list[ForecastMessage] = field(default_factory=list)
    no_check_in: list[NoCheckIn] = field(default_factory=list)
    # A centre's first rule of its own for an event replaces the general rules there.
    replaces_general: int = 0
    centre_ids: list[int] = field(default_factory=list)


class _DraftPlanner(reminders.Planner):
    """The planner with the draft in place of the rule (or beside the rules) it changes."""

    def __init__(self, db: Session, now: datetime, kind: EventKind,
                 rules: dict[int, list[ReminderRule]]) -> None:
        super().__init__(db, now)
        self._kind = kind
        self._draft_rules = rules
        self.before_quiet_hours: dict[int, datetime] = {}
        self.centre_of: dict[int, int] = {}

    def preload(self, centre_ids: Iterable[int]) -> None:
        ids = list(centre_ids)
        super().preload(ids)
        for centre_id in ids:
            # The centre's facts as read, with the rules the draft would sit among.
            self.centre(centre_id).rules = {self._kind: self._draft_rules.get(centre_id, [])}

    def _finish(self, planned: list[reminders.Planned], centre: CentreFacts
                ) -> list[reminders.Planned]:
        for item in planned:
            self.before_quiet_hours[id(item)] = item.due_at
            self.centre_of[id(item)] = centre.id
        return super()._finish(planned, centre)


def draft_rule(spec: RuleSpec, scope_centre_id: int | None, rule_id: int | None) -> ReminderRule:
    """The draft as a rule object the planner can use; never added to a session."""
    return ReminderRule(
        id=rule_id or DRAFT_ID, job_centre_id=scope_centre_id, event_kind=spec.event_kind,
        audience=spec.audience, offset_days=spec.offset_days,
        offset_minutes=spec.offset_minutes, working_days=spec.working_days,
        at_local_time=spec.at_local_time, texts=dict(spec.texts), enabled=True)


def _centre_rules(db: Session, kind: EventKind, draft: ReminderRule,
                  scope_centre_id: int | None, rule_id: int | None,
                  forecast: Forecast) -> dict[int, list[ReminderRule]]:
    """The rules each affected centre would use for ``kind`` with the draft saved."""
    if scope_centre_id is not None:
        centre_ids = [scope_centre_id]
    else:
        centre_ids = list(db.scalars(select(JobCentre.id).where(JobCentre.disabled_at.is_(None))
                                     .order_by(JobCentre.name)))
    result: dict[int, list[ReminderRule]] = {}
    for centre_id in centre_ids:
        current = [r for r in reminder_rules.rules_for(db, centre_id, kind) if r.id != rule_id]
        own = [r for r in current if r.job_centre_id == centre_id]
        if scope_centre_id is None:
            if own:
                continue  # the centre's own rules replace the general ones: the draft is unused
            result[centre_id] = [*current, draft]
        elif own:
            result[centre_id] = [*own, draft]
        else:
            forecast.replaces_general = len(current)
            result[centre_id] = [draft]
    forecast.centre_ids = list(result)
    return result


def _padding(spec: RuleSpec) -> timedelta:
    """How far from the window an event may lie and still have this rule fire inside it."""
    days = abs(spec.offset_days) * (2 if spec.working_days else 1) + 7
    return timedelta(days=days, minutes=abs(spec.offset_minutes))


def forecast(db: Session, now: datetime, spec: RuleSpec, *, scope_centre_id: int | None,
             rule_id: int | None = None, days: int = HORIZON_DAYS,
             may_see_names: Callable[[int], bool] = lambda _centre: False) -> Forecast:
    """The messages ``spec`` would send from ``now`` for ``days`` days.

    ``rule_id``: the saved rule the draft would replace (None: a new rule).
    ``may_see_names(centre_id)``: whether the viewer may see who gets them at that centre.
    """
    spec = reminder_rules.validate(spec)
    result = Forecast(first=now, last=now + timedelta(days=days))
    draft = draft_rule(spec, scope_centre_id, rule_id)
    rules = _centre_rules(db, spec.event_kind, draft, scope_centre_id, rule_id, result)
    if not rules:
        return result
    kind = spec.event_kind
    planner = _DraftPlanner(db, now, kind, rules)
    pad = _padding(spec)
    planned: list[reminders.Planned] = []
    centre_ids = list(rules)
    planner.preload(centre_ids)
    if kind == EventKind.INFO_SESSION:
        found = events.bookings(
            db, Booking.status == BookingStatus.BOOKED, InfoSession.cancelled_at.is_(None),
            InfoSession.job_centre_id.in_(centre_ids), InfoSession.starts_at > now - pad,
            InfoSession.starts_at < result.last + pad)
        current = events.current_enrolments(db, [b.aspirant_id for b in found])
        for booking in found:
            planned += planner.booking(booking, current.get((booking.aspirant_id,
                                                             booking.centre_id)))
    elif kind == EventKind.CHECK_IN:
        planned += _check_ins(db, now, planner, centre_ids, days, spec, result)
    else:
        milestone_kind = next(m for m, e in reminders.MILESTONE_EVENT.items() if e == kind)
        today = local_date(now, planner.zone(centre_ids[0]))
        for milestone in events.milestones(
                db, PlanMilestone.kind == milestone_kind, PlanMilestone.done_at.is_(None),
                PlanMilestone.cancelled_at.is_(None), Enrolment.left_at.is_(None),
                Enrolment.job_centre_id.in_(centre_ids),
                PlanMilestone.due_on >= today - pad - timedelta(days=1),
                PlanMilestone.due_on <= today + timedelta(days=days) + pad):
            planned += planner.milestone(milestone)
    languages = dict(db.execute(select(Person.id, Person.language).where(
        Person.id.in_({item.recipient.id for item in planned if item.rule is draft}))).all())

    plain = WorkCalendar()
    for item in planned:
        if item.rule is not draft:
            continue
        planned_at = planner.before_quiet_hours.get(id(item), item.due_at)
        moment = planned_at if item.skip_reason is not None else item.due_at
        if not now <= moment < result.last:
            continue
        if item.skip_reason is not None:
            outcome = item.skip_reason if item.skip_reason in (QUIET_HOURS, MERGED) else MERGED
        else:
            outcome = MOVED if item.due_at != planned_at else SEND
        centre_id = planner.centre_of[id(item)]
        event_day = item.params.get("date")
        event_day = event_day if isinstance(event_day, date) else None
        closed = False
        if draft.working_days and draft.offset_days and event_day is not None:
            closed = (planner.calendar(centre_id).add_working_days(event_day, draft.offset_days)
                      != plain.add_working_days(event_day, draft.offset_days))
        person = item.recipient
        result.messages.append(ForecastMessage(
            due_at=moment, planned_at=planned_at, outcome=outcome, centre_id=centre_id,
            recipient_id=person.id,
            recipient_name=(person.name or "?") if may_see_names(centre_id) else None,
            audience=draft.audience.value, language=languages.get(person.id, "sv"),
            event_day=event_day, closed_day_moved=closed))
    result.messages.sort(key=lambda m: (m.due_at, m.recipient_id))
    return result


def _check_ins(db: Session, now: datetime, planner: _DraftPlanner, centre_ids: list[int],
               days: int, spec: RuleSpec, result: Forecast) -> list[reminders.Planned]:
    """Check-in reminders of every aspirant with the daily requirement, day by day.

    Every such aspirant at a centre gets the same check-in reminders on a day, so the
    planner plans them once per centre and day, for a stand-in aspirant (timing, quiet
    hours, merging: the planner's own). Who of them gets the reminders is then decided
    for all at once, with the planner's conditions (``planner.check_in``): not before
    their requirement starts (the day after the intake), not on a day with a check-in, a
    mark or a reported absence already, not when the bot cannot reach them. That is a
    few queries per centre instead of a few per aspirant and day.
    """
    planned: list[reminders.Planned] = []
    enrolments = events.enrolments(db, Enrolment.attendance_required.is_(True),
                                   Enrolment.left_at.is_(None),
                                   Enrolment.job_centre_id.in_(centre_ids))
    # A reminder minutes before the window may fall on the evening before: one day more.
    extra = abs(spec.offset_minutes) // (24 * 60) + 1
    for centre_id in centre_ids:
        here = [e for e in enrolments if e.centre_id == centre_id]
        if not here:
            continue
        facts = planner.centre(centre_id)
        today = local_date(now, facts.zone)
        window = [today + timedelta(days=n) for n in range(days + extra)]
        weekdays = weekdays_of(facts)
        taken = events.recorded_days(db, [e.id for e in here], window[0], window[-1])
        stand_in = _stand_in(centre_id)
        for offset, day in enumerate(window):
            if day.isoweekday() in weekdays and not facts.calendar.is_working_day(day):
                # Counted: those whose daily requirement has begun by then (the day after
                # their intake), as the planner would have reminded them.
                started = sum(1 for e in here if e.intake_on is not None and e.intake_on < day)
                if offset < days and started:
                    result.no_check_in.append(NoCheckIn(day, centre_id, started))
                continue
            template = planner.check_in(stand_in, day, recorded=False)
            if not template:
                continue
            for enrolment in here:
                if ((enrolment.id, day) in taken or not enrolment.aspirant.reachable
                        or not required_on(enrolment, day)):
                    continue
                for item in template:
                    copy = replace(item, recipient=enrolment.aspirant)
                    planner.before_quiet_hours[id(copy)] = planner.before_quiet_hours[id(item)]
                    planner.centre_of[id(copy)] = centre_id
                    planned.append(copy)
    return planned


def _stand_in(centre_id: int) -> events.EnrolmentFacts:
    """An aspirant with the daily requirement, reachable, who has done nothing yet and had
    their intake long ago; never stored."""
    return events.EnrolmentFacts(id=0, centre_id=centre_id,
                                 aspirant=events.Recipient(0, "", True), coach=None,
                                 attendance_required=True, open=True,
                                 intake_on=date(2000, 1, 3))
