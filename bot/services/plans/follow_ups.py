"""The follow-up six months after an aspirant left: are they self-supporting?

The city follows "the share self-supporting six months after leaving". When an enrolment
ends for work, studies or another reason (not when the aspirant is sent back to the
district office, nor when they stopped using the bot), a follow-up is due six months
later (on the next working day if that is a day off). Its coach gets a message that day
with one button per outcome, and sees the follow-ups due under /plan. Only the outcome
is stored, with who recorded it and when.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import at_local
from bot.errors import DomainError, NotFound
from bot.i18n import N_
from bot.models import (
    Enrolment,
    ExitFollowUp,
    FollowUpOutcome,
    OutboxMessage,
    Person,
)
from bot.services.messaging import outbox
from bot.services.people import people
from bot.services.plans import milestones
from bot.services.system import audit

FOLLOW_UP_MONTHS = 6
# Exits followed up: not "returned" (sent back to the district office) nor "stopped".
FOLLOWED_EXITS = ("work", "studies", "other")
KIND = "follow_up_due"
# The coach is reminded at this local time on the day the follow-up is due.
REMINDER_TIME = time(9, 0)

OUTCOME_NAMES = {
    FollowUpOutcome.SELF_SUPPORTING: N_("self-supporting"),
    FollowUpOutcome.NOT_SELF_SUPPORTING: N_("not self-supporting"),
    FollowUpOutcome.UNKNOWN: N_("could not be found out"),
}


def event_key(follow_up_id: int) -> str:
    return f"fu:{follow_up_id}"


def schedule(db: Session, now: datetime, enrolment: Enrolment) -> ExitFollowUp | None:
    """The enrolment has ended: a follow-up six months later, if its exit is followed up."""
    from bot.services.plans import milestones

    if enrolment.left_at is None or enrolment.exit_reason not in FOLLOWED_EXITS:
        return None
    existing = db.scalar(select(ExitFollowUp).where(ExitFollowUp.enrolment_id == enrolment.id))
    if existing is not None:
        return existing
    left_on = milestones.local_today(enrolment.left_at, enrolment)
    due = milestones.months_due(db, enrolment.job_centre_id, left_on, FOLLOW_UP_MONTHS)
    follow_up = ExitFollowUp(enrolment_id=enrolment.id, due_on=due, created_at=now)
    db.add(follow_up)
    db.flush()
    audit.record(db, now, "follow_up.schedule", subject=follow_up, due_on=due.isoformat())
    coach = people.get(db, enrolment.coach_id)
    if coach is not None:
        zone = ZoneInfo(enrolment.job_centre.timezone)
        outbox.enqueue(
            db, now, coach,
            N_("Six months ago {name} left the job centre ({centre}). Do they support "
               "themselves now? Please find out and record it."),
            kind=KIND,
            params={"name": enrolment.aspirant.display_name or "?",
                    "centre": enrolment.job_centre.name, "id": follow_up.id},
            due_at=at_local(due, REMINDER_TIME, zone), event_key=event_key(follow_up.id),
            dedupe_key=f"follow_up:{follow_up.id}")
    return follow_up


def get_for(db: Session, actor: Person, follow_up_id: int) -> tuple[ExitFollowUp, Enrolment]:
    follow_up = db.get(ExitFollowUp, follow_up_id)
    enrolment = db.get(Enrolment, follow_up.enrolment_id) if follow_up is not None else None
    if follow_up is None or enrolment is None or not milestones.can_manage(actor, enrolment):
        raise NotFound(N_("This follow-up is not yours."))
    return follow_up, enrolment


def record(db: Session, now: datetime, actor: Person, follow_up_id: int,
           outcome: FollowUpOutcome, *, today: date) -> ExitFollowUp:
    """The coach records what they found out; it can be corrected the same way."""
    follow_up, _enrolment = get_for(db, actor, follow_up_id)
    if today < follow_up.due_on:
        raise DomainError(N_("This follow-up is due on {date}; please record it then."),
                          date=follow_up.due_on)
    previous = follow_up.outcome.value if follow_up.outcome is not None else None
    follow_up.outcome = outcome
    follow_up.recorded_at = now
    follow_up.recorded_by_id = actor.id
    db.flush()
    audit.record(db, now, "follow_up.record", actor=actor, subject=follow_up,
                 outcome=outcome.value, previous=previous)
    # Recorded before its reminder went out: the reminder is not needed any more.
    outbox.cancel_pending(db, event_keys=[event_key(follow_up.id)], reason="recorded")
    return follow_up


def due_for(db: Session, actor: Person, today: date) -> list[tuple[ExitFollowUp, Enrolment]]:
    """Follow-ups due by ``today`` and not recorded, of the actor's former aspirants (or,
    for team leads and admins, of their centres)."""
    query = milestones.followed_by(
        select(ExitFollowUp, Enrolment)
        .join(Enrolment, Enrolment.id == ExitFollowUp.enrolment_id)
        .where(ExitFollowUp.outcome.is_(None), ExitFollowUp.due_on <= today), actor)
    return [(f, e) for f, e in db.execute(query.order_by(ExitFollowUp.due_on,
                                                         ExitFollowUp.id))]


def forget(db: Session, enrolment_ids: list[int]) -> None:
    """Erasure: the reminders about these enrolments' follow-ups carry a name; cancel and
    blank them (the follow-up itself holds no personal data)."""
    if not enrolment_ids:
        return
    keys = [event_key(f) for f in db.scalars(select(ExitFollowUp.id).where(
        ExitFollowUp.enrolment_id.in_(enrolment_ids)))]
    if not keys:
        return
    outbox.cancel_pending(db, event_keys=keys, reason="person_erased")
    for message in db.scalars(select(OutboxMessage).where(OutboxMessage.event_key.in_(keys))):
        message.params = {}
    db.flush()
