"""Job centres."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import DomainError
from bot.i18n import N_
from bot.models import JobCentre, Person
from bot.services import audit


def create(
    db: Session,
    now: datetime,
    *,
    name: str,
    address: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    timezone: str = "Europe/Stockholm",
    actor: Person | None = None,
) -> JobCentre:
    name = name.strip()
    if not name:
        raise DomainError(N_("A job centre needs a name."))
    if db.scalar(select(JobCentre).where(JobCentre.name == name)) is not None:
        raise DomainError(N_("There is already a job centre called {name}."), name=name)
    check_coordinates(latitude, longitude)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(N_("Unknown time zone: {zone}"), zone=timezone) from None
    centre = JobCentre(
        name=name,
        address=address.strip(),
        latitude=latitude,
        longitude=longitude,
        timezone=timezone,
        created_at=now,
    )
    db.add(centre)
    db.flush()
    audit.record(db, now, "centre.create", actor=actor, subject=centre)
    return centre


def check_coordinates(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise DomainError(N_("Give both latitude and longitude, or neither."))
    if latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180):  # type: ignore[operator]
        raise DomainError(N_("Coordinates out of range."))


def by_name(db: Session, name: str) -> JobCentre | None:
    return db.scalar(select(JobCentre).where(JobCentre.name == name))


def active(db: Session) -> list[JobCentre]:
    return list(
        db.scalars(
            select(JobCentre).where(JobCentre.disabled_at.is_(None)).order_by(JobCentre.name)
        )
    )
