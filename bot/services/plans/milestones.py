"""Plan milestones, and recording who came to an information session (the intake).

The intake — the group information session attended, or the plan started by the coach
(three-party meeting) — starts the clock, as the job centre's process says:
- the first job plan is due five working days after the intake (with calendar days
  chosen: five days later, moved to the next working day if that is a day off);
- the deepened plan is due one month after the intake (the first plan covers the first
  four weeks), whenever the first plan was finished;
- a review is due three months after the last plan was done.
Every deadline on a day off moves to the next working day.

A plan is done when both have signed: the coach marks it finished (reminders stop), and
the aspirant confirms in chat that they read it and agree ("I have questions" tells the
coach instead). It counts as done on the later of the two.
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.errors import DomainError, NotAllowed, NotFound
from bot.i18n import N_, Term
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

# Outbox kinds: the aspirant is asked to confirm a plan the coach marked finished; the
# coach hears the answer.
CONFIRM_KIND = "plan_confirm"
ANSWER_KIND = "plan_answer"

KIND_NAMES = {
    MilestoneKind.FIRST_PLAN: N_("first job plan"),
    MilestoneKind.DEEPENED_PLAN: N_("deepened job plan"),
    MilestoneKind.REVIEW: N_("plan review"),
}


# --- deadlines -----------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day if it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


def first_plan_due(db: Session, job_centre_id: int, intake: date) -> date:
    """Five working days after the intake; with calendar days chosen, five days after it,
    on the next working day if that is a day off."""
    calendar = calendar_for(db, job_centre_id)
    if reminder_settings.for_centre(db, job_centre_id).deadline_calendar_days:
        return calendar.next_working_day(intake + timedelta(days=FIRST_PLAN_DAYS), include=True)
    return calendar.add_working_days(intake, FIRST_PLAN_DAYS)


def months_due(db: Session, job_centre_id: int, counted_from: date, months: int) -> date:
    """``months`` later on the calendar; a deadline ending on a day off moves to the next
    working day (as Swedish law counts deadlines), whichever way days are counted."""
    due = add_months(counted_from, months)
    return calendar_for(db, job_centre_id).next_working_day(due, include=True)


def local_today(now: datetime, enrolment: Enrolment) -> date:
    return now.astimezone(ZoneInfo(enrolment.job_centre.timezone)).date()


def completed_at(milestone: PlanMilestone) -> datetime | None:
    """When the plan was done: the later of the two signatures (None: not both yet)."""
    if milestone.done_at is None or milestone.confirmed_at is None:
        return None
    return max(milestone.done_at, milestone.confirmed_at)


def awaiting_confirmation(milestone: PlanMilestone) -> bool:
    """The coach has marked it finished; the aspirant has not confirmed yet."""
    return (milestone.done_at is not None and milestone.confirmed_at is None
            and milestone.cancelled_at is None)


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


# --- the intake ----------------------------------------------------------------------------
def on_info_session_attended(db: Session, now: datetime, enrolment_id: int,
                             attended_on: date) -> PlanMilestone:
    """The intake happened on ``attended_on``: the first and the deepened plan are due,
    and the daily attendance requirement (if any) starts the next day.

    Idempotent: an aspirant who already had their intake keeps it (a second visit does
    not restart the clock).
    """
    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(N_("That aspirant is not enrolled."))
    # Reminders of a session the aspirant has now attended stop.
    reminders.refresh_aspirant_bookings(db, now, enrolment.aspirant_id,
                                        reason="attendance_recorded")
    if enrolment.intake_on is None:
        enrolment.intake_on = attended_on
        db.flush()
        audit.record(db, now, "enrolment.intake", subject=enrolment,
                     intake_on=attended_on.isoformat())
        # The check-in reminders start with the requirement, the day after the intake.
        reminders.refresh_check_ins(db, now, enrolment, reason="intake")
    intake = enrolment.intake_on
    existing = _open_kind(db, enrolment.id, MilestoneKind.FIRST_PLAN)
    if existing is not None:
        return existing
    first = _create(db, now, enrolment, MilestoneKind.FIRST_PLAN,
                    first_plan_due(db, enrolment.job_centre_id, intake), intake)
    if _open_kind(db, enrolment.id, MilestoneKind.DEEPENED_PLAN) is None:
        _create(db, now, enrolment, MilestoneKind.DEEPENED_PLAN,
                months_due(db, enrolment.job_centre_id, intake, DEEPENED_PLAN_MONTHS), intake)
    return first


def _open_kind(db: Session, enrolment_id: int, kind: MilestoneKind) -> PlanMilestone | None:
    return db.scalar(select(PlanMilestone).where(
        PlanMilestone.enrolment_id == enrolment_id, PlanMilestone.kind == kind,
        PlanMilestone.cancelled_at.is_(None)).order_by(PlanMilestone.id).limit(1))


def start_plan(db: Session, now: datetime, enrolment_id: int, *, actor: Person | None,
               counted_from: date | None = None) -> PlanMilestone:
    """The coach starts the plan without an information session (e.g. after a
    three-party meeting): the intake is ``counted_from`` (today)."""
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


# --- two signatures ------------------------------------------------------------------------
@dataclass
class Done:
    milestone: PlanMilestone
    # The milestone that follows, if this one is complete and one was created.
    next: PlanMilestone | None = None


def _milestone(db: Session, milestone_id: int) -> PlanMilestone:
    milestone = db.get(PlanMilestone, milestone_id)
    if milestone is None:
        raise NotFound(N_("That plan milestone no longer exists."))
    if milestone.cancelled_at is not None:
        raise DomainError(N_("That plan milestone was cancelled."))
    return milestone


def mark_done(db: Session, now: datetime, milestone_id: int, *, actor: Person | None) -> Done:
    """The coach marks the plan finished (their signature); the aspirant is asked to
    confirm it. Reminders of the deadline stop."""
    milestone = _milestone(db, milestone_id)
    enrolment = _managed(db, actor, milestone.enrolment_id)
    if milestone.done_at is not None:
        raise DomainError(N_("That plan milestone is already marked as done."))
    milestone.done_at = now
    milestone.done_by_id = actor.id if actor is not None else None
    db.flush()
    done_on = local_today(now, enrolment)
    audit.record(db, now, "milestone.done", actor=actor, subject=milestone,
                 kind=milestone.kind.value, late=done_on > milestone.due_on)
    reminders.refresh_milestone(db, now, milestone, reason="milestone_done")
    aspirant = enrolment.aspirant
    if aspirant.erased_at is None:
        outbox.enqueue(
            db, now, aspirant,
            N_("Your coach has marked your {milestone} as finished. Have you read it, and do "
               "you agree with it?"),
            kind=CONFIRM_KIND,
            params={"milestone": Term(KIND_NAMES[milestone.kind]), "id": milestone.id},
            dedupe_key=f"confirm:{milestone.id}")
    return Done(milestone, _after_completion(db, now, enrolment, milestone))


def confirm(db: Session, now: datetime, aspirant: Person, milestone_id: int, *,
            agree: bool) -> Done:
    """The aspirant's answer: "I have read my plan and agree" (their signature) or "I have
    questions" (the coach is told, and the aspirant can confirm later)."""
    milestone = db.get(PlanMilestone, milestone_id)
    enrolment = db.get(Enrolment, milestone.enrolment_id) if milestone is not None else None
    if (milestone is None or enrolment is None or enrolment.aspirant_id != aspirant.id
            or milestone.cancelled_at is not None):
        raise NotFound(N_("This question is no longer open."))
    if milestone.done_at is None:
        raise DomainError(N_("Your coach has not marked this plan as finished yet."))
    if milestone.confirmed_at is not None:
        raise DomainError(N_("You have already confirmed this plan. Thank you!"))
    if agree:
        milestone.confirmed_at = now
    else:
        milestone.questions_at = now
    db.flush()
    audit.record(db, now, "milestone.confirm" if agree else "milestone.questions",
                 actor=aspirant, subject=milestone)
    coach = people.get(db, enrolment.coach_id)
    followers = [coach] if coach is not None else _team_leads(db, enrolment.job_centre_id)
    template = (N_("{name} has confirmed their {milestone}: they have read it and agree.")
                if agree else
                N_("{name} has questions about their {milestone}. Please contact them."))
    for person in followers:
        outbox.enqueue(db, now, person, template, kind=ANSWER_KIND,
                       params={"name": aspirant.display_name or "?",
                               "milestone": Term(KIND_NAMES[milestone.kind])})
    following = _after_completion(db, now, enrolment, milestone) if agree else None
    return Done(milestone, following)


def _team_leads(db: Session, centre_id: int) -> list[Person]:
    from bot.services.attendance import follow_up

    return follow_up.team_leads_at(db, centre_id)


def _after_completion(db: Session, now: datetime, enrolment: Enrolment,
                      milestone: PlanMilestone) -> PlanMilestone | None:
    """Once both have signed, the next step is due: the deepened plan (if it was not there
    already, as for plans started before it was created at the intake), then a review
    three months after each finished plan."""
    done = completed_at(milestone)
    if done is None or enrolment.left_at is not None:
        return None
    done_on = local_today(done, enrolment)
    if milestone.kind == MilestoneKind.FIRST_PLAN:
        if _open_kind(db, enrolment.id, MilestoneKind.DEEPENED_PLAN) is not None:
            return None
        counted_from = enrolment.intake_on or milestone.counted_from
        return _create(db, now, enrolment, MilestoneKind.DEEPENED_PLAN,
                       months_due(db, enrolment.job_centre_id, counted_from,
                                  DEEPENED_PLAN_MONTHS), counted_from)
    return _create(db, now, enrolment, MilestoneKind.REVIEW,
                   months_due(db, enrolment.job_centre_id, done_on, REVIEW_MONTHS), done_on)


def record_measure(db: Session, now: datetime, milestone_id: int, *,
                   actor: Person | None) -> PlanMilestone:
    """A job, studies or another measure (work training, internship, course) started today:
    the five-day guarantee is met ("a plan, work or another measure"); the plan itself is
    still to be made."""
    milestone = _milestone(db, milestone_id)
    enrolment = _managed(db, actor, milestone.enrolment_id)
    if milestone.kind != MilestoneKind.FIRST_PLAN:
        raise DomainError(N_("A measure is recorded on the first plan only."))
    if milestone.measure_on is not None:
        raise DomainError(N_("A measure has already been recorded for this aspirant."))
    milestone.measure_on = local_today(now, enrolment)
    db.flush()
    audit.record(db, now, "milestone.measure", actor=actor, subject=milestone,
                 late=milestone.measure_on > milestone.due_on)
    return milestone


def plan_of(db: Session, enrolment_id: int) -> list[PlanMilestone]:
    """The aspirant's milestones, oldest first (cancelled ones left out)."""
    return list(db.scalars(select(PlanMilestone).where(
        PlanMilestone.enrolment_id == enrolment_id, PlanMilestone.cancelled_at.is_(None)
    ).order_by(PlanMilestone.due_on, PlanMilestone.id)))


def awaiting_aspirant(db: Session, enrolment_id: int) -> list[PlanMilestone]:
    """Plans the coach marked finished that the aspirant has not confirmed yet."""
    return [m for m in plan_of(db, enrolment_id) if awaiting_confirmation(m)]


def next_open(db: Session, enrolment_id: int) -> PlanMilestone | None:
    return db.scalar(select(PlanMilestone).where(
        PlanMilestone.enrolment_id == enrolment_id, PlanMilestone.done_at.is_(None),
        PlanMilestone.cancelled_at.is_(None)).order_by(PlanMilestone.due_on).limit(1))


def followed_by(query: Select[Any], actor: Person) -> Select[Any]:
    """``query`` (over enrolments) kept to those the actor follows: their own aspirants,
    and every aspirant of the centres where they are team lead or admin."""
    where = people.centres_where(actor, Role.TEAM_LEAD, Role.ADMIN)
    if None in where:
        return query
    scope = Enrolment.coach_id == actor.id
    if where:
        scope = scope | Enrolment.job_centre_id.in_([c for c in where if c is not None])
    return query.where(scope)


def caseload(db: Session, actor: Person) -> list[tuple[Enrolment, PlanMilestone | None]]:
    """Aspirants whose plan the actor follows, the most urgent first (no plan yet last)."""
    query = followed_by(select(Enrolment).where(Enrolment.left_at.is_(None)), actor)
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
    """Attendance was recorded by mistake: the intake and the plans it started are
    withdrawn (unless work on them has begun), and with them the daily requirement."""
    started = list(db.scalars(select(PlanMilestone).where(
        PlanMilestone.enrolment_id == enrolment.id,
        PlanMilestone.kind.in_((MilestoneKind.FIRST_PLAN, MilestoneKind.DEEPENED_PLAN)),
        PlanMilestone.counted_from == day, PlanMilestone.cancelled_at.is_(None))))
    if any(m.done_at is not None for m in started) or enrolment.intake_on != day:
        return
    for milestone in started:
        milestone.cancelled_at = now
        db.flush()
        reminders.refresh_milestone(db, now, milestone, reason="milestone_cancelled")
    enrolment.intake_on = None
    db.flush()
    audit.record(db, now, "enrolment.intake_withdrawn", subject=enrolment)
    reminders.refresh_check_ins(db, now, enrolment, reason="intake_withdrawn")


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
