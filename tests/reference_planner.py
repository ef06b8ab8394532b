"""The per-event reminder planner as it was before planning became set-wise (commit
6f0a7c6), kept as the oracle the set-wise planner is checked against
(tests/test_planning_bulk.py): it loads each event through the ORM and makes the outbox
agree one event at a time. Only the texts and event keys are taken from the code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar
from bot.i18n import Term, encode_param
from bot.models import (
    AbsenceReport,
    AttendanceRecord,
    Audience,
    Booking,
    BookingStatus,
    Enrolment,
    EventKind,
    InfoSession,
    JobCentre,
    OutboxMessage,
    OutboxStatus,
    Person,
    PlanMilestone,
    ReminderRule,
    Role,
    RoleGrant,
)
from bot.services.attendance import policy as attendance_policy
from bot.services.centres.calendars import calendar_for
from bot.services.messaging import outbox
from bot.services.reminders import settings as reminder_settings
from bot.services.reminders.arithmetic import (
    CHECK_IN_HORIZON_DAYS,
    CHECK_IN_VALIDITY,
    DEFAULT_DEADLINE_TIME,
    KIND_PREFIX,
    MILESTONE_EVENT,
    MILESTONE_NAMES,
    SESSION_START_VALIDITY,
    booking_key,
    check_in_key,
    default_text,
    milestone_key,
    phase_of,
)


def _rules_for(db: Session, job_centre_id: int, kind: EventKind) -> list[ReminderRule]:
    rows = list(db.scalars(
        select(ReminderRule).where(
            ReminderRule.enabled.is_(True), ReminderRule.event_kind == kind,
            ReminderRule.job_centre_id.is_(None) | (ReminderRule.job_centre_id == job_centre_id),
        ).order_by(ReminderRule.id)
    ))
    own = [rule for rule in rows if rule.job_centre_id == job_centre_id]
    return own or [rule for rule in rows if rule.job_centre_id is None]


@dataclass
class Planned:
    """One reminder the rules want: to whom, when, and until when it makes sense."""

    rule: ReminderRule
    recipient: Person
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


def _reachable(person: Person | None) -> bool:
    return (person is not None and person.erased_at is None and person.chat_id is not None
            and person.unreachable_at is None)


class Planner:
    """One planning pass: caches rules, settings and calendars per job centre."""

    def __init__(self, db: Session, now: datetime) -> None:
        self.db = db
        self.now = now
        self._rules: dict[tuple[int, EventKind], list[ReminderRule]] = {}
        self._settings: dict[int, reminder_settings.CentreReminderSettings] = {}
        self._calendars: dict[int, WorkCalendar] = {}
        self._zones: dict[int, ZoneInfo] = {}
        self._leads: dict[int, list[Person]] = {}
        self.created = 0
        self.cancelled = 0

    # --- per-centre facts ----------------------------------------------------------------
    def rules(self, centre_id: int, kind: EventKind) -> list[ReminderRule]:
        key = (centre_id, kind)
        if key not in self._rules:
            self._rules[key] = _rules_for(self.db, centre_id, kind)
        return self._rules[key]

    def settings(self, centre_id: int) -> reminder_settings.CentreReminderSettings:
        if centre_id not in self._settings:
            self._settings[centre_id] = reminder_settings.for_centre(self.db, centre_id)
        return self._settings[centre_id]

    def calendar(self, centre_id: int) -> WorkCalendar:
        if centre_id not in self._calendars:
            self._calendars[centre_id] = calendar_for(self.db, centre_id)
        return self._calendars[centre_id]

    def zone(self, centre_id: int) -> ZoneInfo:
        if centre_id not in self._zones:
            centre = self.db.get(JobCentre, centre_id)
            self._zones[centre_id] = ZoneInfo(centre.timezone if centre else "Europe/Stockholm")
        return self._zones[centre_id]

    def team_leads(self, centre_id: int) -> list[Person]:
        if centre_id not in self._leads:
            self._leads[centre_id] = list(self.db.scalars(
                select(Person).join(RoleGrant, RoleGrant.person_id == Person.id).where(
                    RoleGrant.role == Role.TEAM_LEAD,
                    (RoleGrant.job_centre_id == centre_id) | RoleGrant.job_centre_id.is_(None),
                ).order_by(Person.id).distinct()
            ))
        return self._leads[centre_id]

    def audience(self, audience: Audience, enrolment: Enrolment) -> list[Person]:
        if audience == Audience.ASPIRANT:
            people = [enrolment.aspirant]
        elif audience == Audience.COACH:
            people = [enrolment.coach] if enrolment.coach is not None else []
        else:
            people = self.team_leads(enrolment.job_centre_id)
        return [p for p in people if _reachable(p)]

    def due(self, rule: ReminderRule, centre_id: int, day: date, clock: time | None) -> datetime:
        """When ``rule`` fires for an event on local ``day`` (at local ``clock``, if timed)."""
        if rule.offset_days:
            if rule.working_days:
                day = self.calendar(centre_id).add_working_days(day, rule.offset_days)
            else:
                day = day + timedelta(days=rule.offset_days)
        moment = _at(day, rule.at_local_time or clock or DEFAULT_DEADLINE_TIME,
                     self.zone(centre_id))
        return moment + timedelta(minutes=rule.offset_minutes)

    # --- events ------------------------------------------------------------------------
    def booking(self, booking: Booking) -> list[Planned]:
        session = booking.info_session
        if booking.status != BookingStatus.BOOKED or session.cancelled_at is not None:
            return []
        centre_id = session.job_centre_id
        enrolment = _enrolment_at(self.db, booking.aspirant_id, centre_id)
        if enrolment is None:
            return []
        zone = self.zone(centre_id)
        start = session.starts_at.astimezone(zone)
        params = {"date": start.date(), "time": start.time().replace(tzinfo=None),
                  "place": session.place or session.job_centre.address,
                  "centre": session.job_centre.name,
                  "name": enrolment.aspirant.display_name or "?"}
        planned = []
        for rule in self.rules(centre_id, EventKind.INFO_SESSION):
            phase = phase_of(rule)
            due = self.due(rule, centre_id, start.date(), start.time().replace(tzinfo=None))
            if phase == "before":
                expires = session.starts_at
            elif phase == "on":
                expires = session.starts_at + SESSION_START_VALIDITY
            else:
                expires = _end_of_day(due.astimezone(zone).date(), zone)
            for person in self.audience(rule.audience, enrolment):
                extra = {"booking_id": booking.id} if rule.audience == Audience.ASPIRANT else {}
                planned.append(self._item(rule, person, due, expires, EventKind.INFO_SESSION,
                                          {**params, **extra}))
        return self._finish(planned, centre_id)

    def milestone(self, milestone: PlanMilestone) -> list[Planned]:
        enrolment = self.db.get(Enrolment, milestone.enrolment_id)
        if (enrolment is None or enrolment.left_at is not None or milestone.done_at is not None
                or milestone.cancelled_at is not None):
            return []
        centre_id = enrolment.job_centre_id
        zone = self.zone(centre_id)
        kind = MILESTONE_EVENT[milestone.kind]
        coach = enrolment.coach
        params = {"milestone": Term(MILESTONE_NAMES[milestone.kind]),
                  "date": milestone.due_on, "name": enrolment.aspirant.display_name or "?",
                  "coach": (coach.display_name if coach is not None else None) or "—",
                  "centre": enrolment.job_centre.name}
        planned = []
        for rule in self.rules(centre_id, kind):
            due = self.due(rule, centre_id, milestone.due_on, None)
            if phase_of(rule) == "after":
                expires = _end_of_day(due.astimezone(zone).date(), zone)
            else:
                expires = _end_of_day(milestone.due_on, zone)
            for person in self.audience(rule.audience, enrolment):
                extra = {"milestone_id": milestone.id} if rule.audience != Audience.ASPIRANT \
                    else {}
                planned.append(self._item(rule, person, due, expires, kind, {**params, **extra}))
        return self._finish(planned, centre_id)

    def check_in(self, enrolment: Enrolment, day: date) -> list[Planned]:
        if not attendance_policy.required_on(enrolment, day) or enrolment.left_at is not None:
            return []
        centre_id = enrolment.job_centre_id
        policy = attendance_policy.policy_for(self.db, self.now, centre_id)
        window = attendance_policy.day_at(policy, self.calendar(centre_id), self.zone(centre_id),
                                          day)
        if not window.is_attendance_day or _has_record(self.db, enrolment.id, day):
            return []
        opens = policy.window_start
        params = {"date": day, "time": opens, "centre": enrolment.job_centre.name,
                  "name": enrolment.aspirant.display_name or "?"}
        planned = []
        for rule in self.rules(centre_id, EventKind.CHECK_IN):
            due = self.due(rule, centre_id, day, opens)
            expires = due + CHECK_IN_VALIDITY if phase_of(rule) != "after" else \
                _end_of_day(day, self.zone(centre_id))
            for person in self.audience(rule.audience, enrolment):
                planned.append(self._item(rule, person, due, expires, EventKind.CHECK_IN,
                                          params))
        return self._finish(planned, centre_id)

    def _item(self, rule: ReminderRule, person: Person, due: datetime, expires: datetime | None,
              kind: EventKind, params: dict[str, Any]) -> Planned:
        params = dict(params)
        if rule.texts:
            # The rule's own words travel with the row; the dispatcher picks the language.
            params["_texts"] = dict(rule.texts)
        return Planned(rule, person, due, expires, default_text(kind, rule.audience,
                                                                 phase_of(rule)), params)

    def _finish(self, planned: list[Planned], centre_id: int) -> list[Planned]:
        """Apply quiet hours, and keep one reminder where two land on the same moment."""
        settings = self.settings(centre_id)
        zone = self.zone(centre_id)
        for item in planned:
            moved = settings.quiet.next_allowed(item.due_at, zone)
            if moved == item.due_at:
                continue
            if item.expires_at is not None and moved >= item.expires_at:
                item.skip_reason = "quiet_hours"
            else:
                item.due_at = moved
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

    # --- making the outbox agree ------------------------------------------------------------
    def sync(self, event_key: str, kind: EventKind, planned: list[Planned], reason: str) -> None:
        existing = list(self.db.scalars(
            select(OutboxMessage).where(OutboxMessage.event_key == event_key,
                                        OutboxMessage.status != OutboxStatus.CANCELLED)
        ))
        self._apply(event_key, kind, planned, existing, reason)

    def _apply(self, event_key: str, kind: EventKind, planned: list[Planned],
               existing: list[OutboxMessage], reason: str) -> None:
        by_key = {(m.rule_id, m.recipient_id, m.due_at): m for m in existing
                  if m.rule_id is not None}
        wanted = set()
        for item in planned:
            wanted.add(item.key)
            params = {key: encode_param(value) for key, value in item.params.items()}
            row = by_key.get(item.key)
            if row is None:
                if item.due_at < self.now:
                    continue  # its moment passed before the event was known or changed
                self._insert(event_key, kind, item)
            elif row.status == OutboxStatus.PENDING:
                row.template, row.params, row.expires_at = item.template, params, item.expires_at
                if item.skip_reason is not None:
                    outbox.mark_skipped(row, item.skip_reason)
            elif (row.status == OutboxStatus.SKIPPED and item.skip_reason is None
                  and row.skip_reason in ("quiet_hours", "merged") and row.due_at >= self.now):
                # Skipped when planned, wanted again now (e.g. quiet hours were shortened).
                row.status, row.skip_reason = OutboxStatus.PENDING, None
                row.template, row.params, row.expires_at = item.template, params, item.expires_at
        for row in existing:
            key = (row.rule_id, row.recipient_id, row.due_at)
            if row.status == OutboxStatus.PENDING and key not in wanted:
                _cancel(row, reason)
                self.cancelled += 1

    def _insert(self, event_key: str, kind: EventKind, item: Planned) -> None:
        dedupe = (f"{event_key}:{item.rule.id}:{item.recipient.id}:"
                  f"{item.due_at.astimezone(UTC):%Y%m%d%H%M}")
        try:
            # A savepoint: if another instance planned the same row a moment ago, the
            # unique key refuses this one and only this insert is undone.
            with self.db.begin_nested():
                row = outbox.enqueue(
                    self.db, self.now, item.recipient, item.template,
                    kind=KIND_PREFIX + kind.value, params=item.params, due_at=item.due_at,
                    expires_at=item.expires_at, event_key=event_key, dedupe_key=dedupe,
                    rule_id=item.rule.id,
                )
        except IntegrityError:
            return
        if row is None:
            return
        if item.skip_reason is not None:
            outbox.mark_skipped(row, item.skip_reason)
        else:
            self.created += 1


def _cancel(row: OutboxMessage, reason: str) -> None:
    row.status = OutboxStatus.CANCELLED
    row.skip_reason = reason[:40]
    # The key is free again, so the same reminder can be planned anew if the event returns.
    row.dedupe_key = None


def _enrolment_at(db: Session, aspirant_id: int, centre_id: int) -> Enrolment | None:
    return db.scalar(
        select(Enrolment).where(Enrolment.aspirant_id == aspirant_id,
                                Enrolment.job_centre_id == centre_id,
                                Enrolment.left_at.is_(None))
        .order_by(Enrolment.enrolled_at.desc()).limit(1)
    )


def _has_record(db: Session, enrolment_id: int, day: date) -> bool:
    """Checked in, or marked, or absence reported for ``day``: no check-in reminder."""
    if db.scalar(select(AttendanceRecord.id).where(AttendanceRecord.enrolment_id == enrolment_id,
                                                   AttendanceRecord.day == day)) is not None:
        return True
    return db.scalar(select(AbsenceReport.id).where(
        AbsenceReport.enrolment_id == enrolment_id, AbsenceReport.first_day <= day,
        AbsenceReport.last_day >= day).limit(1)) is not None


# --- entry points: call after changing an event --------------------------------------------
def refresh_booking(db: Session, now: datetime, booking: Booking, *,
                    reason: str = "rescheduled", planner: Planner | None = None) -> None:
    planner = planner or Planner(db, now)
    planner.sync(booking_key(booking.id), EventKind.INFO_SESSION, planner.booking(booking),
                 reason)


def refresh_session(db: Session, now: datetime, session: InfoSession, *,
                    reason: str = "session_changed") -> None:
    planner = Planner(db, now)
    for booking in db.scalars(select(Booking).where(Booking.info_session_id == session.id)):
        refresh_booking(db, now, booking, reason=reason, planner=planner)


def refresh_aspirant_bookings(db: Session, now: datetime, aspirant_id: int, *,
                              reason: str = "rescheduled") -> None:
    """Every booking of the aspirant on a session that has not long passed."""
    planner = Planner(db, now)
    for booking in db.scalars(
        select(Booking).join(InfoSession, InfoSession.id == Booking.info_session_id)
        .where(Booking.aspirant_id == aspirant_id, InfoSession.starts_at > now - timedelta(days=2))
    ):
        refresh_booking(db, now, booking, reason=reason, planner=planner)


def refresh_milestone(db: Session, now: datetime, milestone: PlanMilestone, *,
                      reason: str = "rescheduled", planner: Planner | None = None) -> None:
    planner = planner or Planner(db, now)
    kind = MILESTONE_EVENT[milestone.kind]
    planner.sync(milestone_key(milestone.id), kind, planner.milestone(milestone), reason)


def refresh_check_ins(db: Session, now: datetime, enrolment: Enrolment, *,
                      reason: str = "rescheduled", planner: Planner | None = None) -> None:
    """The check-in reminders of the next ``CHECK_IN_HORIZON_DAYS`` local days."""
    planner = planner or Planner(db, now)
    zone = planner.zone(enrolment.job_centre_id)
    today = now.astimezone(zone).date()
    days = [today + timedelta(days=n) for n in range(CHECK_IN_HORIZON_DAYS)]
    keys = {check_in_key(enrolment.id, day): day for day in days}
    existing: dict[str, list[OutboxMessage]] = {key: [] for key in keys}
    for row in db.scalars(select(OutboxMessage).where(
            OutboxMessage.event_key.in_(list(keys)),
            OutboxMessage.status != OutboxStatus.CANCELLED)):
        existing[row.event_key or ""].append(row)
    for key, day in keys.items():
        planner._apply(key, EventKind.CHECK_IN, planner.check_in(enrolment, day), existing[key],
                       reason)


def refresh_enrolment(db: Session, now: datetime, enrolment: Enrolment, *,
                      reason: str = "rescheduled") -> None:
    """Everything about one aspirant: call after a change of coach, requirement or exit."""
    planner = Planner(db, now)
    for booking in db.scalars(
        select(Booking).join(InfoSession, InfoSession.id == Booking.info_session_id)
        .where(Booking.aspirant_id == enrolment.aspirant_id,
               InfoSession.job_centre_id == enrolment.job_centre_id,
               InfoSession.starts_at > now - timedelta(days=2))
    ):
        refresh_booking(db, now, booking, reason=reason, planner=planner)
    for milestone in db.scalars(select(PlanMilestone).where(
            PlanMilestone.enrolment_id == enrolment.id, PlanMilestone.done_at.is_(None),
            PlanMilestone.cancelled_at.is_(None))):
        refresh_milestone(db, now, milestone, reason=reason, planner=planner)
    refresh_check_ins(db, now, enrolment, reason=reason, planner=planner)


def refresh_centre(db: Session, now: datetime, centre_id: int | None, *,
                   kinds: Iterable[EventKind] | None = None, reason: str = "rule_changed") -> None:
    """Re-plan every open event of a centre (all centres if None): after a rule or setting
    changed."""
    kinds = set(kinds) if kinds is not None else set(EventKind)
    planner = Planner(db, now)
    if EventKind.INFO_SESSION in kinds:
        query = (select(Booking).join(InfoSession, InfoSession.id == Booking.info_session_id)
                 .where(Booking.status == BookingStatus.BOOKED,
                        InfoSession.cancelled_at.is_(None),
                        InfoSession.starts_at > now - timedelta(days=2)))
        if centre_id is not None:
            query = query.where(InfoSession.job_centre_id == centre_id)
        for booking in db.scalars(query):
            refresh_booking(db, now, booking, reason=reason, planner=planner)
    milestone_kinds = [m for m, e in MILESTONE_EVENT.items() if e in kinds]
    if milestone_kinds:
        query = (select(PlanMilestone).join(Enrolment, Enrolment.id == PlanMilestone.enrolment_id)
                 .where(PlanMilestone.kind.in_(milestone_kinds), PlanMilestone.done_at.is_(None),
                        PlanMilestone.cancelled_at.is_(None), Enrolment.left_at.is_(None)))
        if centre_id is not None:
            query = query.where(Enrolment.job_centre_id == centre_id)
        for milestone in db.scalars(query):
            refresh_milestone(db, now, milestone, reason=reason, planner=planner)
    if EventKind.CHECK_IN in kinds:
        for enrolment in _required_enrolments(db, centre_id):
            refresh_check_ins(db, now, enrolment, reason=reason, planner=planner)


def _required_enrolments(db: Session, centre_id: int | None) -> list[Enrolment]:
    query = select(Enrolment).where(Enrolment.attendance_required.is_(True),
                                    Enrolment.left_at.is_(None))
    if centre_id is not None:
        query = query.where(Enrolment.job_centre_id == centre_id)
    return list(db.scalars(query.order_by(Enrolment.id)))


def plan_horizon(db: Session, now: datetime) -> int:
    """Plan the coming days' check-in reminders (hourly job); returns rows added."""
    planner = Planner(db, now)
    for enrolment in _required_enrolments(db, None):
        refresh_check_ins(db, now, enrolment, reason="rescheduled", planner=planner)
    return planner.created
