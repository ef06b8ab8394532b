"""Job centres, people, their roles and the aspirant's enrolment."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, UTCDateTime, str_enum
from bot.models.enums import Role


class JobCentre(Base):
    __tablename__ = "job_centre"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Person(Base):
    """Anyone the bot knows: aspirant, coach, team lead or admin.

    Only what the service needs is kept: the Telegram ids to reach them, the first
    name they show in Telegram (so a coach can tell aspirants apart) and their
    language. Erasure blanks these and keeps the row as an anonymous id for figures.
    """

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    display_name: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="sv")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Optional, recorded by the coach only where an admin has switched these fields on,
    # for figures by gender and age band. Never asked of the aspirant by the bot.
    gender: Mapped[str | None] = mapped_column(String(16))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    roles: Mapped[list[RoleGrant]] = relationship(
        back_populates="person",
        cascade="all, delete-orphan",
        lazy="selectin",
        foreign_keys="RoleGrant.person_id",
    )

    def has_role(self, *roles: Role) -> bool:
        return any(grant.role in roles for grant in self.roles)


class RoleGrant(Base):
    """A role held by a person, at one job centre or (job_centre_id NULL) everywhere."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("person_id", "role", "job_centre_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    job_centre_id: Mapped[int | None] = mapped_column(ForeignKey("job_centre.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    person: Mapped[Person] = relationship(back_populates="roles", foreign_keys=[person_id])


class Enrolment(Base):
    """An aspirant enrolled at a job centre, with their coach (the assignment)."""

    __tablename__ = "enrolment"
    __table_args__ = (Index("ix_enrolment_active", "aspirant_id", "left_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    aspirant_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    job_centre_id: Mapped[int] = mapped_column(ForeignKey("job_centre.id"))
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    attendance_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # The intake: the day the aspirant attended the group information session, or the
    # coach started the plan (three-party meeting). Deadlines count from it, and the
    # daily attendance requirement starts the day after it; None: no intake yet.
    intake_on: Mapped[date | None] = mapped_column(Date)
    # The social worker (socialsekreterare) who receives the aspirant's attendance
    # statements and plan status; personal data, cleared on erasure.
    social_worker_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("invite.id"))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # work, studies, returned (sent back to the district office), other, stopped (by themselves)
    exit_reason: Mapped[str | None] = mapped_column(String(20))

    aspirant: Mapped[Person] = relationship(foreign_keys=[aspirant_id])
    coach: Mapped[Person | None] = relationship(foreign_keys=[coach_id])
    social_worker: Mapped[Person | None] = relationship(foreign_keys=[social_worker_id])
    job_centre: Mapped[JobCentre] = relationship()


class Invite(Base):
    """A single-use, expiring code behind a deep link; it decides the role it grants."""

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    job_centre_id: Mapped[int | None] = mapped_column(ForeignKey("job_centre.id"))
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    info_session_id: Mapped[int | None] = mapped_column(ForeignKey("info_session.id"))
    attendance_required: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The Telegram account that opened it first holds it: nobody else can use it until
    # that account declines, a coach releases it or it expires (then this is cleared).
    opened_by_user_id: Mapped[int | None] = mapped_column(BigInteger)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    job_centre: Mapped[JobCentre | None] = relationship()
