"""An aspirant's enrolment ending: work, studies, or back to the district office."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.errors import DomainError
from bot.i18n import N_, N_plural
from bot.models import Booking, BookingStatus, Enrolment, InfoSession, Person
from bot.services.attendance import follow_up
from bot.services.centres import org_settings
from bot.services.messaging import outbox
from bot.services.plans import follow_ups
from bot.services.reminders import planner as reminders
from bot.services.system import audit

ENDED_NOTICE = N_plural(
    "Your time with the job centre {centre} has ended. Good luck! You will get no more "
    "reminders. What we stored about you is erased after {days} day; send /stop to erase "
    "it now.",
    "Your time with the job centre {centre} has ended. Good luck! You will get no more "
    "reminders. What we stored about you is erased after {days} days; send /stop to erase "
    "it now.")
EXIT_REASONS = {
    "work": N_("got a job"),
    "studies": N_("started studies"),
    "returned": N_("sent back to the district office"),
    "other": N_("other reason"),
}


def close(db: Session, now: datetime, actor: Person, enrolment_id: int, reason: str
          ) -> Enrolment:
    """End the enrolment: reminders stop, future bookings are released, the aspirant is told.

    Their personal data stays for the retention period (so the coach can still answer
    questions), then it is erased automatically; /stop erases it at once.
    """
    if reason not in EXIT_REASONS:
        raise DomainError(N_("Unknown reason."))
    enrolment = follow_up.enrolment_for(db, actor, enrolment_id)
    if enrolment.left_at is not None:
        raise DomainError(N_("This enrolment has already ended."))
    enrolment.left_at = now
    enrolment.exit_reason = reason
    future = select(InfoSession.id).where(InfoSession.starts_at > now)
    db.execute(
        update(Booking)
        .where(Booking.aspirant_id == enrolment.aspirant_id,
               Booking.status == BookingStatus.BOOKED, Booking.info_session_id.in_(future))
        .values(status=BookingStatus.CANCELLED, updated_at=now)
    )
    db.flush()
    reminders.refresh_enrolment(db, now, enrolment, reason="enrolment_ended")
    # Six months on, the coach finds out whether they support themselves.
    follow_ups.schedule(db, now, enrolment)
    aspirant = enrolment.aspirant
    if aspirant.erased_at is None:
        singular, plural = ENDED_NOTICE
        outbox.enqueue(
            db, now, aspirant, singular, kind="notice",
            params={"centre": enrolment.job_centre.name,
                    "days": org_settings.get(db, org_settings.RETENTION_DAYS),
                    # The number of days decides the wording (Arabic has six forms).
                    "_plural": {"msgid": plural, "count": "days"}},
        )
    audit.record(db, now, "enrolment.close", actor=actor, subject=enrolment, reason=reason)
    return enrolment
