"""Daily attendance and absence reports."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, str_enum
from bot.models.enums import AbsenceReason, AttendanceStatus, CheckInMethod


class AttendanceRecord(Base):
    __tablename__ = "attendance_record"
    __table_args__ = (UniqueConstraint("enrolment_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"))
    day: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[AttendanceStatus] = mapped_column(str_enum(AttendanceStatus))
    method: Mapped[CheckInMethod | None] = mapped_column(str_enum(CheckInMethod))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))


class AbsenceReport(Base):
    __tablename__ = "absence_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[AbsenceReason] = mapped_column(str_enum(AbsenceReason))
    # Free text only for reason "other"; erased with the person.
    note: Mapped[str | None] = mapped_column(String(500))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))


class ClosedDay(Base):
    """A day a job centre is closed beyond weekends and public holidays (e.g. staff training)."""

    __tablename__ = "closed_day"
    __table_args__ = (UniqueConstraint("job_centre_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_centre_id: Mapped[int] = mapped_column(ForeignKey("job_centre.id"))
    day: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
