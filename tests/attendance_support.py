"""Set-up for attendance tests, through the project's own services."""

from __future__ import annotations

from datetime import date, datetime
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import (
    AttendancePolicy,
    Enrolment,
    JobCentre,
    OutboxMessage,
    OutboxStatus,
    Person,
    Role,
)
from bot.services.attendance import checkin_codes
from bot.services.attendance import policy as attendance_policy
from bot.services.centres.calendars import calendar_for
from bot.services.people import onboarding
from bot.services.plans import milestones
from tests import factories

_ids = count(700001)


def centre_with_staff(db: Session, now: datetime, name: str = "Jobbtorg Kista",
                      **policy: Any) -> tuple[JobCentre, Person, Person]:
    """A job centre with a coach and a team lead; ``policy`` changes the attendance policy."""
    centre = factories.centre(db, now, name)
    coach = factories.staff(db, now, Role.COACH, centre, name="Coach Karin")
    lead = factories.staff(db, now, Role.TEAM_LEAD, centre, name="Lead Lars")
    if policy:
        attendance_policy.update(db, now, centre, actor=None, **policy)
    else:
        attendance_policy.policy_for(db, now, centre.id)
    return centre, coach, lead


BEFORE = "before"


def enrol(db: Session, now: datetime, centre: JobCentre, coach: Person | None, name: str, *,
          required: bool = True, telegram_user_id: int | None = None, language: str = "sv",
          intake: date | str | None = BEFORE) -> tuple[Person, Enrolment]:
    """An aspirant enrolled through an invite, as the onboarding does it, whose intake (the
    group information session) was recorded on ``intake``: by default the working day
    before ``now``, so their daily requirement runs from ``now``'s day; None: no intake."""
    invite = factories.aspirant_invite(db, now, centre, coach, attendance_required=required)
    uid = telegram_user_id or next(_ids)
    person, enrolment = onboarding.enrol_aspirant(
        db, now, invite.id, invite.code, telegram_user_id=uid, chat_id=uid, language=language,
        display_name=name)
    if intake == BEFORE:
        today = now.astimezone(ZoneInfo(centre.timezone)).date()
        intake = calendar_for(db, centre.id).add_working_days(today, -1)
    if intake is not None:
        assert isinstance(intake, date)
        milestones.on_info_session_attended(db, now, enrolment.id, intake)
    return person, enrolment


def policy(db: Session, centre: JobCentre) -> AttendancePolicy:
    found = db.scalar(select(AttendancePolicy).where(AttendancePolicy.job_centre_id == centre.id))
    assert found is not None
    return found


def code_now(db: Session, centre: JobCentre, now: datetime) -> str:
    return checkin_codes.current_code(attendance_policy.policy_for(db, now, centre.id), now)


def queued(db: Session, kind: str, recipient: Person | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.kind == kind,
                                        OutboxMessage.status != OutboxStatus.CANCELLED)
    if recipient is not None:
        query = query.where(OutboxMessage.recipient_id == recipient.id)
    return list(db.scalars(query.order_by(OutboxMessage.id)))
