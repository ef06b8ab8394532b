"""Erasing a person's personal data, keeping only what anonymous figures need."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.i18n import N_
from bot.models import (
    AbsenceReport,
    Booking,
    BookingStatus,
    Enrolment,
    InfoSession,
    OutboxMessage,
    Person,
)
from bot.services.attendance import follow_up
from bot.services.attendance.checkin import throttle_key as checkin_throttle_key
from bot.services.messaging import outbox
from bot.services.people import invites
from bot.services.people.onboarding import throttle_key as onboarding_throttle_key
from bot.services.plans import follow_ups
from bot.services.reminders import planner as reminders
from bot.services.system import audit, conversations, throttle
from bot.services.web import sign_in


def erase(db: Session, now: datetime, person: Person, *, actor: Person | None,
          reason: str) -> None:
    """Blank the person, end their enrolment, stop their reminders, tell their coach."""
    enrolments = list(db.scalars(select(Enrolment).where(Enrolment.aspirant_id == person.id)))
    coach_ids = {e.coach_id for e in enrolments if e.left_at is None and e.coach_id}
    for coach_id in coach_ids:
        coach = db.get(Person, coach_id)
        if coach is not None and coach.erased_at is None:
            outbox.enqueue(
                db, now, coach,
                N_("{name} has stopped using the bot. Their personal data has been erased "
                   "and they get no more reminders."),
                kind="coach_notice", params={"name": person.display_name or "?"},
            )
    outbox.cancel_pending(db, recipient_id=person.id, reason="person_erased")
    # Reminders about them that go to their coach or team lead carry their name too.
    reminders.forget_aspirant(db, person)
    db.execute(
        update(OutboxMessage).where(OutboxMessage.recipient_id == person.id).values(params={})
    )
    enrolment_ids = [e.id for e in enrolments]
    for enrolment in enrolments:
        if enrolment.left_at is None:
            enrolment.left_at = now
            enrolment.exit_reason = "stopped" if reason == "stop" else reason[:20]
    if enrolment_ids:
        db.execute(
            update(AbsenceReport)
            .where(AbsenceReport.enrolment_id.in_(enrolment_ids))
            .values(note=None)
        )
        follow_up.forget_notes(db, enrolment_ids)
        follow_ups.forget(db, enrolment_ids)
        # Who their social worker was is about them too.
        db.execute(update(Enrolment).where(Enrolment.id.in_(enrolment_ids))
                   .values(social_worker_id=None).execution_options(synchronize_session="fetch"))
    future = select(InfoSession.id).where(InfoSession.starts_at > now)
    db.execute(
        update(Booking)
        .where(Booking.aspirant_id == person.id, Booking.status == BookingStatus.BOOKED,
               Booking.info_session_id.in_(future))
        .values(status=BookingStatus.CANCELLED, updated_at=now)
    )
    if person.telegram_user_id is not None:
        conversations.forget_user(db, person.telegram_user_id)
        invites.forget_account(db, person.telegram_user_id)
        throttle.clear(db, onboarding_throttle_key(person.telegram_user_id))
    throttle.clear(db, checkin_throttle_key(person.id))
    sign_in.forget(db, person.id)
    person.telegram_user_id = None
    person.chat_id = None
    person.display_name = None
    person.gender = None
    person.birth_year = None
    person.erased_at = now
    person.roles.clear()
    db.flush()
    audit.record(db, now, "person.erase", actor=actor, subject=person, reason=reason)
