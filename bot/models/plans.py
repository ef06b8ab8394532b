"""Plan milestones: first plan, deepened plan and the periodic reviews."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, str_enum
from bot.models.enums import MilestoneKind


class PlanMilestone(Base):
    __tablename__ = "plan_milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    kind: Mapped[MilestoneKind] = mapped_column(str_enum(MilestoneKind))
    # The date the plan is due, in the job centre's calendar.
    due_on: Mapped[date] = mapped_column(Date)
    # What the deadline was counted from (the info session, the previous plan).
    counted_from: Mapped[date] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
