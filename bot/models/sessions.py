"""Group information sessions and the aspirants booked on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, UTCDateTime, str_enum
from bot.models.enums import BookingStatus
from bot.models.people import JobCentre


class InfoSession(Base):
    __tablename__ = "info_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_centre_id: Mapped[int] = mapped_column(ForeignKey("job_centre.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str] = mapped_column(String(8), default="sv")
    capacity: Mapped[int] = mapped_column(Integer, default=20)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    job_centre: Mapped[JobCentre] = relationship()


class Booking(Base):
    __tablename__ = "booking"
    __table_args__ = (UniqueConstraint("info_session_id", "aspirant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    info_session_id: Mapped[int] = mapped_column(ForeignKey("info_session.id"), index=True)
    aspirant_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    status: Mapped[BookingStatus] = mapped_column(str_enum(BookingStatus))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    info_session: Mapped[InfoSession] = relationship()
