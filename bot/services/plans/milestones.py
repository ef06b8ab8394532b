"""Plan milestones, and recording who came to an information session.

Attendance at the information session starts the clock: the first job plan is due
five working days later (calendar days if the centre's admin chose so). When the
coach marks a milestone done, the next one is counted from that actual date: the
deepened plan one month later, then a review every three months after the last
actual review. Reminders of a done milestone stop at once.
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import DomainError, NotAllowed, NotFound
from bot.i18n import N_
from bot.models import (
    Booking,
    BookingStatus,
    Enrolment,
    MilestoneKind,
    Person,
    PlanMilestone,
    Role,
)
from bot.services.centres.calendars import calendar_for
from bot.services.messaging import outbox
from bot.services.people import people
from bot.services.reminders import planner as reminders
from bot.services.reminders import settings as reminder_settings
from bot.services.sessions import info_sessions
from bot.services.system import audit

FIRST_PLAN_DAYS = 5
DEEPENED_PLAN_MONTHS = 1
REVIEW_MONTHS = 3

NEXT = {
    MilestoneKind.FIRST_PLAN: (MilestoneKind.DEEPENED_PLAN, DEEPENED_PLAN_MONTHS),
    MilestoneKind.DEEPENED_PLAN: (MilestoneKind.REVIEW, REVIEW_MONTHS),
    MilestoneKind.REVIEW: (MilestoneKind.REVIEW, REVIEW_MONTHS),
}


# --- deadlines -----------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day if it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


def first_plan_due(db: Session, job_centre_id: int, counted_from: date) -> date:
    if reminder_settings.for_centre(db, job_centre_id).deadline_calendar_days:
        return counted_from + timedelta(days=FIRST_PLAN_DAYS)
    return calendar_for(db, job_centre_id).add_working_days(counted_from, FIRST_PLAN_DAYS)


def months_due(db: Session, job_centre_id: int, counted_from: date, months: int) -> date:
    due = add_months(counted_from, months)
    if reminder_settings.for_centre(db, job_centre_id).deadline_calendar_days:
        return due
    # As Swedish law counts deadlines: one ending on a day off moves to the next working day.
    return calendar_for(db, job_centre_id).next_working_day(due, include=True)


def local_today(now: datetime, enrolment: Enrolment) -> date:
    return now.astimezone(ZoneInfo(enrolment.job_centre.timezone)).date()


# --- who may do what ---------------------------------------------------------------------
def can_manage(actor: Person, enrolment: Enrolment) -> bool:
    """The aspirant's own coach, or a team lead or admin of the centre."""
    if enrolment.coach_id == actor.id and actor.has_role(Role.COACH):
        return True
    where = people.centres_where(actor, Role.TEAM_LEAD, Role.ADMIN)
    return None in where or enrolment.job_centre_id in where


def _managed(db: Session, actor: Person | None, enrolment_id: int) -> Enrolment:
    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is None or (actor is not None and not can_manage(actor, enrolment)):
        raise NotFound(N_("That aspirant is not in your caseload."))
    if enrolment.left_at is not None:
        raise DomainError(N_("That aspirant has left the job centre."))
    return enrolment


# --- milestones ----------------------------------------------------------------------------
def on_info_session_attended(db: Session, now: datetime, enrolment_id: int,
                             attended_on: date) -> PlanMilestone:
    """Attendance at the information session was recorded: the first plan is due.

    Idempotent: an aspirant who already has a first-plan milestone keeps it (a second
    visit does not restart the clock).
    """
    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(N_("That aspirant is not enrolled."))
    # Reminders of a session the aspirant has now attended stop.
    reminders.refresh_aspirant_bookings(db, now, enrolment.aspirant_id,
                                        reason="attendance_recorded")
    existing = db.scalar(select(PlanMilestone).where(
        PlanMilestone.enrolment_id == enrolment.id,
        PlanMilestone.kind == MilestoneKind.FIRST_PLAN,
        PlanMilestone.cancelled_at.is_(None)).limit(1))
    if existing is not None:
        return existing
    return _create(db, now, enrolment, MilestoneKind.FIRST_PLAN,
                   first_plan_due(db, enrolment.job_centre_id, attended_on), attended_on)


def start_plan(db: Session, now: datetime, enrolment_id: int, *, actor: Person | None,
               counted_from: date | None = None) -> PlanMilestone:
    """The coach starts the plan without an information session (e.g. after a
    three-party meeting): the first plan is counted from ``counted_from`` (today)."""
    enrolment = _managed(db, actor, enrolment_id)
    if plan_of(db, enrolment.id):
        raise DomainError(N_("This aspirant's plan has already started."))
    day = counted_from or local_today(now, enrolment)
    milestone = on_info_session_attended(db, now, enrolment.id, day)
    audit.record(db, now, "milestone.start", actor=actor, subject=milestone)
    return milestone


def _create(db: Session, now: datetime, enrolment: Enrolment, kind: MilestoneKind, due: date,
            counted_from: date) -> PlanMilestone:
    milestone = PlanMilestone(enrolment_id=enrolment.id, kind=kind, due_on=due,
                              counted_from=counted_from, created_at=now)
    db.add(milestone)
    db.flush()
    audit.record(db, now, "milestone.create", subject=milestone, kind=kind.value,
                 due_on=due.isoformat())
    reminders.refresh_milestone(db, now, milestone)
    return milestone


@dataclass
class Done:
    milestone: PlanMilestone
    next: PlanMilestone


def mark_done(db: Session, now: datetime, milestone_id: int, *, actor: Person | None) -> Done:
    """Mark a milestone done today; the next one is counted from today."""
    milestone = db.get(PlanMilestone, milestone_id)
    if milestone is None:
        raise NotFound(N_("That plan milestone no longer exists."))
    enrolment = _managed(db, actor, milestone.enrolment_id)
    if milestone.cancelled_at is not None:
        raise DomainError(N_("That plan milestone was cancelled."))
    if milestone.done_at is not None:
        raise DomainError(N_("That plan milestone is already marked as done."))
    milestone.done_at = now
    milestone.done_by_id = actor.id if actor is not None else None
    db.flush()
    done_on = local_today(now, enrolment)
    audit.record(db, now, "milestone.done", actor=actor, subject=milestone,
                 kind=milestone.kind.value, late=done_on > milestone.due_on)
    reminders.refresh_milestone(db, now, milestone, reason="milestone_done")
    kind, months = NEXT[milestone.kind]
    following = _create(db, now, enrolment, kind,
                        months_due(db, enrolment.job_centre_id, done_on, months), done_on)
    return Done(milestone, following)


def plan_of(db: Session, enrolment_id: int) -> list[PlanMilestone]:
    """The aspirant's milestones, oldest first (cancelled ones left out)."""
    return list(db.scalars(select(PlanMilestone).where(
        PlanMilestone.enrolment_id == enrolment_id, PlanMilestone.cancelled_at.is_(None)
    ).order_by(PlanMilestone.due_on, PlanMilestone.id)))


def next_open(db: Session, enrolment_id: int) -> PlanMilestone | None:
    return db.scalar(select(PlanMilestone).where(
        PlanMilestone.enrolment_id == enrolment_id, PlanMilestone.done_at.is_(None),
        PlanMilestone.cancelled_at.is_(None)).order_by(PlanMilestone.due_on).limit(1))


def caseload(db: Session, actor: Person) -> list[tuple[Enrolment, PlanMilestone | None]]:
    """Aspirants whose plan the actor follows, the most urgent first (no plan yet last)."""
    query = select(Enrolment).where(Enrolment.left_at.is_(None))
    where = people.centres_where(actor, Role.TEAM_LEAD, Role.ADMIN)
    if None not in where:
        scope = Enrolment.coach_id == actor.id
        if where:
            scope = scope | Enrolment.job_centre_id.in_([c for c in where if c is not None])
        query = query.where(scope)
    rows = [(e, next_open(db, e.id)) for e in db.scalars(query.order_by(Enrolment.id))]
    far = date.max
    return sorted(rows, key=lambda row: (row[1].due_on if row[1] else far, row[0].id))


def managed_enrolment(db: Session, actor: Person, enrolment_id: int) -> Enrolment:
    return _managed(db, actor, enrolment_id)


# --- attendance at the information session ---------------------------------------------------
def record_booking_attendance(db: Session, now: datetime, booking_id: int, attended: bool, *,
                              actor: Person | None) -> Booking:
    """Record that a booked aspirant came (the first plan is then due) or did not come
    (they are offered a new time). A wrong entry can be corrected the same way."""
    booking = db.get(Booking, booking_id)
    if booking is None:
        raise NotFound(N_("That booking no longer exists."))
    session = booking.info_session
    enrolment = _enrolment_for(db, booking)
    if actor is not None and not _may_record(actor, session.job_centre_id, enrolment):
        raise NotAllowed(N_("Only the aspirant's coach or an administrator can record this."))
    if booking.status == BookingStatus.CANCELLED or session.cancelled_at is not None:
        raise DomainError(N_("That booking was cancelled."))
    if session.starts_at > now:
        raise DomainError(N_("Attendance can be recorded once the session has started."))
    status = BookingStatus.ATTENDED if attended else BookingStatus.NO_SHOW
    if booking.status == status:
        return booking
    was = booking.status
    booking.status = status
    booking.updated_at = now
    db.flush()
    audit.record(db, now, "booking.attended" if attended else "booking.no_show", actor=actor,
                 subject=booking)
    reminders.refresh_booking(db, now, booking, reason="attendance_recorded")
    session_day = session.starts_at.astimezone(info_sessions.zone_of(session)).date()
    if enrolment is None:
        return booking
    if attended:
        on_info_session_attended(db, now, enrolment.id, session_day)
    else:
        if was == BookingStatus.ATTENDED:
            _withdraw_first_plan(db, now, enrolment, session_day)
        _offer_new_time(db, now, booking, enrolment)
    return booking


def _enrolment_for(db: Session, booking: Booking) -> Enrolment | None:
    return people.current_enrolment(db, booking.aspirant_id,
                                    job_centre_id=booking.info_session.job_centre_id)


def _may_record(actor: Person, centre_id: int, enrolment: Enrolment | None) -> bool:
    where = people.centres_where(actor, Role.ADMIN, Role.TEAM_LEAD)
    if None in where or centre_id in where:
        return True
    return enrolment is not None and enrolment.coach_id == actor.id


def _withdraw_first_plan(db: Session, now: datetime, enrolment: Enrolment, day: date) -> None:
    """Attendance was recorded by mistake: the first plan it started is withdrawn."""
    milestone = db.scalar(select(PlanMilestone).where(
        PlanMilestone.enrolment_id == enrolment.id,
        PlanMilestone.kind == MilestoneKind.FIRST_PLAN, PlanMilestone.counted_from == day,
        PlanMilestone.done_at.is_(None), PlanMilestone.cancelled_at.is_(None)))
    if milestone is not None:
        milestone.cancelled_at = now
        db.flush()
        reminders.refresh_milestone(db, now, milestone, reason="milestone_cancelled")


def _offer_new_time(db: Session, now: datetime, booking: Booking, enrolment: Enrolment) -> None:
    aspirant = db.get(Person, booking.aspirant_id)
    if aspirant is None or aspirant.erased_at is not None:
        return
    session = booking.info_session
    alternatives = info_sessions.offer_params(
        info_sessions.offers(db, now, session.job_centre_id, exclude=session.id))
    start = session.starts_at.astimezone(info_sessions.zone_of(session))
    template = (N_("We missed you at the information session on {date}. Please choose a new "
                   "time below.") if alternatives else
                N_("We missed you at the information session on {date}. Your coach will "
                   "contact you about a new time."))
    outbox.enqueue(db, now, aspirant, template, kind=info_sessions.BOOKING_OFFER,
                   params={"date": start.date(), "offers": alternatives},
                   dedupe_key=f"noshow:{booking.id}")
