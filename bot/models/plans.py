"""Plan milestones (first plan, deepened plan, periodic reviews) and the follow-up six
months after an aspirant left."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, str_enum
from bot.models.enums import FollowUpOutcome, MilestoneKind


class PlanMilestone(Base):
    __tablename__ = "plan_milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    kind: Mapped[MilestoneKind] = mapped_column(str_enum(MilestoneKind))
    # The date the plan is due, in the job centre's calendar.
    due_on: Mapped[date] = mapped_column(Date)
    # What the deadline was counted from (the intake, the previous plan).
    counted_from: Mapped[date] = mapped_column(Date)
    # The coach marked the plan finished (their signature); reminders stop here.
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # The aspirant confirmed in chat that they read the plan and agree (their signature).
    # The plan is done when both have signed, on the later of the two.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The aspirant answered "I have questions" (their coach was told).
    questions_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # First plan only: the day a job, studies or another measure (work training,
    # internship, course) started, as the coach recorded it; meets the five-day guarantee.
    measure_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ExitFollowUp(Base):
    """Six months after an aspirant left (for work, studies or another reason), the coach
    records whether they support themselves: the city's "self-supporting six months after
    leaving" figure. Kept without personal data beyond the enrolment it belongs to."""

    __tablename__ = "exit_follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), unique=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    outcome: Mapped[FollowUpOutcome | None] = mapped_column(str_enum(FollowUpOutcome))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
