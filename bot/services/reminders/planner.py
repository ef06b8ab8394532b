"""The reminder planner: outbox rows computed from events × rules. The one entry point
for re-planning: services call these functions after changing an event, a rule or a
setting, and nothing else plans reminders.

An event is a booking on an information session (``bk:<booking id>``), a plan
milestone (``ms:<milestone id>``) or a day's check-in of an aspirant with an
attendance requirement (``ci:<enrolment id>:<date>``). For each event the planner
computes the reminders the rules want — who gets what, when (``arithmetic.py``) — and
makes the outbox agree with that set (``outbox_sync.py``): rows still wanted stay,
rows no longer wanted are cancelled with a reason, missing ones are added. Running it
twice changes nothing.

One booking, milestone or enrolment is planned at once, in the caller's unit of work.
A change that reaches a whole centre (a rule, quiet hours, the check-in window, a
closed day) is planned at once too while the centre is small; at city scale it is
recorded as a durable request (``replan_requests.py``) and planned right after the
commit in short chunks of their own (``bulk.py``, run by ``scheduler/planning_jobs.py``),
so chats are answered meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from bot.models import (
    AbsenceReport,
    AttendanceRecord,
    Booking,
    BookingStatus,
    Enrolment,
    EventKind,
    InfoSession,
    OutboxMessage,
    OutboxStatus,
    Person,
    PlanMilestone,
    ReminderRule,
)
from bot.services.attendance.days import required_on
from bot.services.reminders import bulk, events, replan_requests
from bot.services.reminders.arithmetic import (  # re-exported: the planner's vocabulary
    CHECK_IN_HORIZON_DAYS,
    CHECK_IN_VALIDITY,
    DEFAULT_DEADLINE_TIME,
    KIND_PREFIX,
    MILESTONE_EVENT,
    MILESTONE_NAMES,
    SESSION_START_VALIDITY,
    Planned,
    Planner,
    booking_key,
    check_in_key,
    default_text,
    milestone_key,
    phase_of,
)
from bot.services.reminders.outbox_sync import SyncCounts, sync

__all__ = [
    "CHECK_IN_HORIZON_DAYS", "CHECK_IN_VALIDITY", "DEFAULT_DEADLINE_TIME", "INLINE_LIMIT",
    "KIND_PREFIX", "MILESTONE_EVENT", "MILESTONE_NAMES", "SESSION_START_VALIDITY", "Planned",
    "Planner", "booking_key", "check_in_key", "default_text", "forget_aspirant",
    "milestone_key", "phase_of", "plan_horizon", "refresh_aspirant_bookings",
    "refresh_booking", "refresh_centre", "refresh_check_ins", "refresh_enrolment",
    "refresh_milestone", "refresh_session", "stale_reason",
]

# A centre-wide change with at most this many bookings and enrolments to look at is planned
# in the caller's unit of work; a larger one becomes a request planned in chunks.
INLINE_LIMIT = bulk.CHUNK
HORIZON_REASON = "rescheduled"


# --- entry points: call after changing an event --------------------------------------------
def refresh_booking(db: Session, now: datetime, booking: Booking, *,
                    reason: str = "rescheduled", planner: Planner | None = None) -> None:
    _bookings(db, now, reason, planner, Booking.id == booking.id)


def refresh_session(db: Session, now: datetime, session: InfoSession, *,
                    reason: str = "session_changed") -> None:
    _bookings(db, now, reason, None, Booking.info_session_id == session.id)


def refresh_aspirant_bookings(db: Session, now: datetime, aspirant_id: int, *,
                              reason: str = "rescheduled") -> None:
    """Every booking of the aspirant on a session that has not long passed."""
    _bookings(db, now, reason, None, Booking.aspirant_id == aspirant_id,
              InfoSession.starts_at > now - timedelta(days=2))


def refresh_milestone(db: Session, now: datetime, milestone: PlanMilestone, *,
                      reason: str = "rescheduled", planner: Planner | None = None) -> None:
    planner = planner or Planner(db, now)
    found = events.milestones(db, PlanMilestone.id == milestone.id)
    sync(db, now, bulk.plan_milestones(planner, found), reason)


def refresh_check_ins(db: Session, now: datetime, enrolment: Enrolment, *,
                      reason: str = "rescheduled", planner: Planner | None = None) -> None:
    """The check-in reminders of the next ``CHECK_IN_HORIZON_DAYS`` local days."""
    planner = planner or Planner(db, now)
    found = events.enrolments(db, Enrolment.id == enrolment.id)
    sync(db, now, bulk.plan_check_ins(db, planner, found), reason)


def refresh_enrolment(db: Session, now: datetime, enrolment: Enrolment, *,
                      reason: str = "rescheduled") -> None:
    """Everything about one aspirant: call after a change of coach, requirement or exit."""
    planner = Planner(db, now)
    _bookings(db, now, reason, planner, Booking.aspirant_id == enrolment.aspirant_id,
              InfoSession.job_centre_id == enrolment.job_centre_id,
              InfoSession.starts_at > now - timedelta(days=2))
    plans = bulk.plan_milestones(planner, events.milestones(
        db, PlanMilestone.enrolment_id == enrolment.id, PlanMilestone.done_at.is_(None),
        PlanMilestone.cancelled_at.is_(None)))
    plans += bulk.plan_check_ins(db, planner, events.enrolments(db, Enrolment.id == enrolment.id))
    sync(db, now, plans, reason)


def _bookings(db: Session, now: datetime, reason: str, planner: Planner | None,
              *where: ColumnElement[bool]) -> None:
    planner = planner or Planner(db, now)
    sync(db, now, bulk.plan_bookings(db, planner, events.bookings(db, *where)), reason)


def refresh_centre(db: Session, now: datetime, centre_id: int | None, *,
                   kinds: Iterable[EventKind] | None = None, reason: str = "rule_changed",
                   inline_limit: int | None = None) -> SyncCounts | None:
    """Re-plan every open event of a centre (all centres if None): after a rule, setting,
    policy or calendar change.

    Planned here and now if the centre is small (returns the counts); otherwise recorded
    as a request in this unit of work, planned in chunks once it has committed (None).
    """
    scope = bulk.Scope.of(centre_id, kinds)
    limit = INLINE_LIMIT if inline_limit is None else inline_limit
    if bulk.is_small(db, now, scope, limit):
        return bulk.plan_all(db, now, scope, reason)
    replan_requests.record(db, now, scope, reason)
    return None


def plan_horizon(db: Session, now: datetime) -> int:
    """Plan the coming days' check-in reminders of everyone, in this unit of work; returns
    rows added. (The running bot does the same in chunks: scheduler/planning_jobs.py.)"""
    counts = bulk.plan_all(db, now, bulk.Scope.of(None, [EventKind.CHECK_IN]), HORIZON_REASON)
    return counts.created


def forget_aspirant(db: Session, person: Person) -> int:
    """Cancel every pending reminder about an aspirant, whoever it is for, and blank the
    stored names (erasure)."""
    booking_ids = select(Booking.id).where(Booking.aspirant_id == person.id)
    enrolment_ids = [e for e in db.scalars(select(Enrolment.id).where(
        Enrolment.aspirant_id == person.id))]
    keys = [booking_key(b) for b in db.scalars(booking_ids)]
    keys += [milestone_key(m) for m in db.scalars(select(PlanMilestone.id).where(
        PlanMilestone.enrolment_id.in_(enrolment_ids)))] if enrolment_ids else []
    about = [OutboxMessage.event_key.in_(keys)] if keys else []
    about += [OutboxMessage.event_key.like(f"ci:{e}:%") for e in enrolment_ids]
    if not about:
        return 0
    result = db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, or_(*about))
        .values(status=OutboxStatus.CANCELLED, skip_reason="person_erased", dedupe_key=None)
        .execution_options(synchronize_session="fetch")
    )
    db.execute(update(OutboxMessage).where(or_(*about)).values(params={})
               .execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


# --- at send time ---------------------------------------------------------------------------
def stale_reason(db: Session, message: OutboxMessage, now: datetime) -> str | None:
    """Why a reminder is no longer worth sending (None: send it).

    The planner cancels reminders when events change, but the check is made again at
    send time, so nothing outdated goes out even if a change bypassed the planner.
    """
    if not message.kind.startswith(KIND_PREFIX) or not message.event_key:
        return None
    if message.rule_id is not None:
        rule = db.get(ReminderRule, message.rule_id)
        if rule is None or not rule.enabled:
            return "rule_disabled"
    kind, _, rest = message.event_key.partition(":")
    if kind == "bk":
        booking = db.get(Booking, int(rest))
        if booking is not None and booking.status in (BookingStatus.ATTENDED,
                                                      BookingStatus.NO_SHOW):
            return "attendance_recorded"
        if booking is None or booking.status != BookingStatus.BOOKED:
            return "booking_cancelled"
        if booking.info_session.cancelled_at is not None:
            return "session_cancelled"
    elif kind == "ms":
        milestone = db.get(PlanMilestone, int(rest))
        if milestone is None or milestone.cancelled_at is not None:
            return "milestone_cancelled"
        if milestone.done_at is not None:
            return "milestone_done"
        enrolment = db.get(Enrolment, milestone.enrolment_id)
        if enrolment is None or enrolment.left_at is not None:
            return "enrolment_ended"
    elif kind == "ci":
        enrolment_id, _, day = rest.partition(":")
        enrolment = db.get(Enrolment, int(enrolment_id))
        if enrolment is None or enrolment.left_at is not None:
            return "enrolment_ended"
        if not required_on(enrolment, date.fromisoformat(day)):
            return "no_requirement"
        if _has_record(db, enrolment.id, date.fromisoformat(day)):
            return "checked_in_or_absent"
    return None


def _has_record(db: Session, enrolment_id: int, day: date) -> bool:
    """Checked in, or marked, or absence reported for ``day``: no check-in reminder."""
    if db.scalar(select(AttendanceRecord.id).where(AttendanceRecord.enrolment_id == enrolment_id,
                                                   AttendanceRecord.day == day)) is not None:
        return True
    return db.scalar(select(AbsenceReport.id).where(
        AbsenceReport.enrolment_id == enrolment_id, AbsenceReport.first_day <= day,
        AbsenceReport.last_day >= day).limit(1)) is not None
