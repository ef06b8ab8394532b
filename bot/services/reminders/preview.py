"""A reminder rule applied to a sample event, so an admin can read what it would send.

The sample is built exactly as the planner (bot/services/reminders/planner.py) builds a real
reminder: the same built-in text for the rule's event, audience and phase, the same
parameters, the rule's own texts carried along, and the same timing. Nothing is stored:
the message and the rule here are never added to the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar, local_date
from bot.i18n import Term, encode_param
from bot.models import AttendancePolicy, EventKind, JobCentre, OutboxMessage, ReminderRule
from bot.services.centres.calendars import calendar_for
from bot.services.reminders import planner as reminders
from bot.services.reminders import rules as reminder_rules

# Made-up people, so that no real aspirant's name appears in a preview.
SAMPLE_ASPIRANT = "Amina"
SAMPLE_COACH = "Karin"
SAMPLE_SESSION_TIME = time(9, 30)
DEFAULT_WINDOW_START = time(8, 30)
# The sample event lies a week ahead, on a working day, so "before" reminders fall on
# ordinary days too.
DAYS_AHEAD = 7

_EVENT_OF_MILESTONE = {event: kind for kind, event in reminders.MILESTONE_EVENT.items()}


@dataclass(frozen=True)
class Sample:
    message: OutboxMessage  # transient: never added to the session
    event_day: date
    event_time: time | None  # None for a deadline (a date without a time)
    due_at: datetime  # UTC, before quiet hours are applied
    in_quiet_hours: bool
    zone: str


def _sample_centre(db: Session, centre_id: int | None) -> JobCentre | None:
    if centre_id is not None:
        return db.get(JobCentre, centre_id)
    # General rules apply everywhere: show them at the first open centre.
    return db.scalar(select(JobCentre).where(JobCentre.disabled_at.is_(None))
                     .order_by(JobCentre.name).limit(1))


def _window_start(db: Session, centre: JobCentre | None) -> time:
    if centre is None:
        return DEFAULT_WINDOW_START
    # Read, not ``policy_for``: a preview must not create a policy row.
    policy = db.scalar(select(AttendancePolicy).where(AttendancePolicy.job_centre_id == centre.id))
    return policy.window_start if policy is not None else DEFAULT_WINDOW_START


def sample(db: Session, now: datetime, spec: reminder_rules.RuleSpec, centre_id: int | None,
           default_zone: str) -> Sample:
    """``spec`` (validated first) applied to a sample event at ``centre_id`` (None: general)."""
    spec = reminder_rules.validate(spec)
    centre = _sample_centre(db, centre_id)
    zone_name = centre.timezone if centre is not None else default_zone
    zone = ZoneInfo(zone_name)
    calendar = calendar_for(db, centre.id) if centre is not None else WorkCalendar()
    day = local_date(now, zone) + timedelta(days=DAYS_AHEAD)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)

    kind = spec.event_kind
    params: dict[str, object] = {"date": day, "name": SAMPLE_ASPIRANT,
                                 "centre": centre.name if centre is not None else "—"}
    clock: time | None = None
    if kind == EventKind.INFO_SESSION:
        clock = SAMPLE_SESSION_TIME
        place = (centre.address or centre.name) if centre is not None else "—"
        params.update(time=clock, place=place)
    elif kind == EventKind.CHECK_IN:
        clock = _window_start(db, centre)
        params["time"] = clock
    else:
        params.update(milestone=Term(reminders.MILESTONE_NAMES[_EVENT_OF_MILESTONE[kind]]),
                      coach=SAMPLE_COACH)

    rule = ReminderRule(event_kind=kind, audience=spec.audience, offset_days=spec.offset_days,
                        offset_minutes=spec.offset_minutes, working_days=spec.working_days,
                        at_local_time=spec.at_local_time, texts=dict(spec.texts))
    encoded = {key: encode_param(value) for key, value in params.items()}
    if spec.texts:
        encoded["_texts"] = dict(spec.texts)  # as the planner carries them to the dispatcher
    message = OutboxMessage(
        kind=reminders.KIND_PREFIX + kind.value,
        template=reminders.default_text(kind, spec.audience, reminders.phase_of(rule)),
        params=encoded,
    )
    planner = reminders.Planner(db, now)
    # Centre id 0 (none) gives the planner's defaults: no closed days, default quiet hours.
    planner_centre = centre.id if centre is not None else 0
    due = planner.due(rule, planner_centre, day, clock)
    quiet = planner.settings(planner_centre).quiet.is_quiet(due.astimezone(zone))
    return Sample(message=message, event_day=day, event_time=clock, due_at=due,
                  in_quiet_hours=quiet, zone=zone_name)
