"""Everything stored about one person, gathered for them to see (/mydata).

What must be here is declared in bot/privacy.py: every PERSONAL column is shown, and
tests/test_privacy.py checks it column by column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import (
    AbsenceReport,
    AttendanceNote,
    AttendanceRecord,
    Booking,
    Enrolment,
    ExitFollowUp,
    InfoSession,
    Invite,
    OutboxMessage,
    OutboxStatus,
    Person,
    PlanMilestone,
)


@dataclass
class StoredData:
    person: Person
    enrolments: list[Enrolment] = field(default_factory=list)
    bookings: list[tuple[Booking, InfoSession]] = field(default_factory=list)
    milestones: list[PlanMilestone] = field(default_factory=list)
    attendance: list[AttendanceRecord] = field(default_factory=list)
    absences: list[AbsenceReport] = field(default_factory=list)
    notes: list[AttendanceNote] = field(default_factory=list)
    # Invites this account opened and holds, not used yet.
    held_invites: int = 0
    # Messages to them that wait to be sent (what they say is stored until then).
    waiting_messages: int = 0
    follow_ups: list[ExitFollowUp] = field(default_factory=list)

    @property
    def first_attendance(self) -> date | None:
        return min((r.day for r in self.attendance), default=None)


def gather(db: Session, person: Person) -> StoredData:
    data = StoredData(person=person)
    data.enrolments = list(
        db.scalars(select(Enrolment).where(Enrolment.aspirant_id == person.id)
                   .order_by(Enrolment.enrolled_at))
    )
    enrolment_ids = [e.id for e in data.enrolments]
    if person.telegram_user_id is not None:
        data.held_invites = db.scalar(
            select(func.count()).select_from(Invite)
            .where(Invite.opened_by_user_id == person.telegram_user_id)) or 0
    data.waiting_messages = db.scalar(
        select(func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.recipient_id == person.id,
               OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))) or 0
    data.bookings = [
        (b, s) for b, s in db.execute(
            select(Booking, InfoSession)
            .join(InfoSession, InfoSession.id == Booking.info_session_id)
            .where(Booking.aspirant_id == person.id)
            .order_by(InfoSession.starts_at)
        )
    ]
    if enrolment_ids:
        data.milestones = list(db.scalars(
            select(PlanMilestone).where(PlanMilestone.enrolment_id.in_(enrolment_ids))
            .order_by(PlanMilestone.due_on)))
        data.attendance = list(db.scalars(
            select(AttendanceRecord).where(AttendanceRecord.enrolment_id.in_(enrolment_ids))
            .order_by(AttendanceRecord.day)))
        data.absences = list(db.scalars(
            select(AbsenceReport).where(AbsenceReport.enrolment_id.in_(enrolment_ids))
            .order_by(AbsenceReport.first_day)))
        data.follow_ups = list(db.scalars(
            select(ExitFollowUp).where(ExitFollowUp.enrolment_id.in_(enrolment_ids),
                                       ExitFollowUp.outcome.is_not(None))))
        data.notes = list(db.scalars(
            select(AttendanceNote).where(AttendanceNote.enrolment_id.in_(enrolment_ids),
                                         AttendanceNote.text.is_not(None))
            .order_by(AttendanceNote.day)))
    return data

