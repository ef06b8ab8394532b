"""Whether the bot can reach a person: they blocked it, or wrote to it again."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from bot.i18n import N_
from bot.models import Person
from bot.services.messaging import outbox
from bot.services.people.people import active_enrolment
from bot.services.reminders import planner

log = logging.getLogger(__name__)

UNREACHABLE_NOTICE = N_(
    "{name} can no longer be reached through the bot (they may have blocked it). Their "
    "reminders are stopped; please contact them another way.")


def mark_unreachable(db: Session, now: datetime, person_id: int) -> bool:
    """Telegram refused a message to the person (they blocked the bot): stop their other
    messages at once, claimed or not, and tell their coach. Returns False if already
    marked."""
    person = db.get(Person, person_id)
    if person is None or person.unreachable_at is not None:
        return False
    person.unreachable_at = now
    outbox.cancel_pending(db, recipient_id=person.id, reason="unreachable", claimed_too=True)
    enrolment = active_enrolment(db, person)
    if enrolment is not None and enrolment.coach_id is not None:
        coach = db.get(Person, enrolment.coach_id)
        if coach is not None and coach.erased_at is None and coach.unreachable_at is None:
            outbox.enqueue(
                db, now, coach, UNREACHABLE_NOTICE,
                kind="coach_notice", params={"name": person.display_name or "?"},
                dedupe_key=f"unreachable:{person.id}:{now.date().isoformat()}",
            )
    log.info("person %s unreachable", person.id)
    return True


def reachable_again(db: Session, now: datetime, person: Person) -> None:
    """They write to us again, so they can be reached again: plan their reminders anew."""
    if person.unreachable_at is None:
        return
    person.unreachable_at = None
    enrolment = active_enrolment(db, person)
    if enrolment is not None:
        planner.refresh_enrolment(db, now, enrolment, reason="reachable_again")
