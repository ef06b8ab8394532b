"""Group information sessions: creating them, finding free places, booking."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.errors import DomainError, NotFound
from bot.i18n import LANGUAGES, N_
from bot.models import Booking, BookingStatus, InfoSession, JobCentre, Person
from bot.services import audit

_HOLDS_A_PLACE = (BookingStatus.BOOKED, BookingStatus.ATTENDED)


def create(
    db: Session,
    now: datetime,
    *,
    job_centre: JobCentre,
    starts_at: datetime,
    duration: timedelta = timedelta(hours=2),
    place: str | None = None,
    language: str = "sv",
    capacity: int = 20,
    latitude: float | None = None,
    longitude: float | None = None,
    actor: Person | None = None,
) -> InfoSession:
    if starts_at <= now:
        raise DomainError(N_("The information session must start in the future."))
    if duration <= timedelta(0):
        raise DomainError(N_("The information session must end after it starts."))
    if capacity < 1:
        raise DomainError(N_("The capacity must be at least 1."))
    if language not in LANGUAGES:
        raise DomainError(N_("Unknown language: {language}"), language=language)
    session = InfoSession(
        job_centre_id=job_centre.id,
        starts_at=starts_at,
        ends_at=starts_at + duration,
        place=(place if place is not None else job_centre.address).strip(),
        latitude=latitude if latitude is not None else job_centre.latitude,
        longitude=longitude if longitude is not None else job_centre.longitude,
        language=language,
        capacity=capacity,
        created_at=now,
        updated_at=now,
    )
    db.add(session)
    db.flush()
    audit.record(db, now, "session.create", actor=actor, subject=session)
    return session


def booked_count(db: Session, info_session_id: int) -> int:
    return db.scalar(
        select(func.count(Booking.id)).where(
            Booking.info_session_id == info_session_id, Booking.status.in_(_HOLDS_A_PLACE)
        )
    ) or 0


def free_places(db: Session, info_session: InfoSession) -> int:
    return max(0, info_session.capacity - booked_count(db, info_session.id))


def is_open(db: Session, now: datetime, info_session: InfoSession) -> bool:
    return (
        info_session.cancelled_at is None
        and info_session.starts_at > now
        and free_places(db, info_session) > 0
    )


def upcoming_with_places(
    db: Session, now: datetime, job_centre_id: int, *, limit: int = 5
) -> list[InfoSession]:
    held = (
        select(Booking.info_session_id, func.count(Booking.id).label("held"))
        .where(Booking.status.in_(_HOLDS_A_PLACE))
        .group_by(Booking.info_session_id)
        .subquery()
    )
    rows = db.scalars(
        select(InfoSession)
        .outerjoin(held, held.c.info_session_id == InfoSession.id)
        .where(
            InfoSession.job_centre_id == job_centre_id,
            InfoSession.cancelled_at.is_(None),
            InfoSession.starts_at > now,
            InfoSession.capacity > func.coalesce(held.c.held, 0),
        )
        .order_by(InfoSession.starts_at)
        .limit(limit)
    )
    return list(rows)


def current_booking(db: Session, now: datetime, aspirant: Person) -> Booking | None:
    """The aspirant's booking on a session that has not ended yet."""
    return db.scalar(
        select(Booking)
        .join(InfoSession, InfoSession.id == Booking.info_session_id)
        .where(
            Booking.aspirant_id == aspirant.id,
            Booking.status == BookingStatus.BOOKED,
            InfoSession.cancelled_at.is_(None),
            InfoSession.ends_at > now,
        )
        .order_by(InfoSession.starts_at)
        .limit(1)
    )


def book(db: Session, now: datetime, aspirant: Person, info_session_id: int) -> Booking:
    """Book a place, moving any other current booking of the aspirant to this session."""
    # Lock the session row so two aspirants cannot both take the last place.
    info_session = db.scalar(
        select(InfoSession).where(InfoSession.id == info_session_id).with_for_update()
    )
    if info_session is None:
        raise NotFound(N_("That information session no longer exists."))
    existing = db.scalar(
        select(Booking).where(
            Booking.info_session_id == info_session.id, Booking.aspirant_id == aspirant.id
        )
    )
    if existing is not None and existing.status == BookingStatus.BOOKED:
        return existing
    if info_session.cancelled_at is not None or info_session.starts_at <= now:
        raise DomainError(N_("That information session is no longer open. Please choose another."))
    if free_places(db, info_session) <= 0:
        raise DomainError(N_("That information session is full. Please choose another."))
    previous = current_booking(db, now, aspirant)
    if previous is not None:
        previous.status = BookingStatus.CANCELLED
        previous.updated_at = now
    if existing is None:
        existing = Booking(
            info_session_id=info_session.id, aspirant_id=aspirant.id, created_at=now
        )
        db.add(existing)
    existing.status = BookingStatus.BOOKED
    existing.updated_at = now
    db.flush()
    audit.record(db, now, "booking.create", actor=aspirant, subject=existing)
    return existing


def get(db: Session, info_session_id: int) -> InfoSession | None:
    return db.get(InfoSession, info_session_id)
