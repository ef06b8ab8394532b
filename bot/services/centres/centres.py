"""Job centres."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import DomainError
from bot.i18n import N_
from bot.models import JobCentre, Person
from bot.services.centres import versions
from bot.services.system import audit


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


def rename(db: Session, now: datetime, centre: JobCentre, name: str, *,
           actor: Person | None) -> None:
    name = name.strip()
    if not name:
        raise DomainError(N_("A job centre needs a name."))
    if len(name) > 120:
        raise DomainError(N_("That is too long (at most {limit} characters)."), limit=120)
    other = by_name(db, name)
    if other is not None and other.id != centre.id:
        raise DomainError(N_("There is already a job centre called {name}."), name=name)
    old, centre.name = centre.name, name
    versions.centre_changed(db, centre.id)
    audit.record(db, now, "centre.rename", actor=actor, subject=centre, old=old, new=name)


def set_address(db: Session, now: datetime, centre: JobCentre, address: str, *,
                actor: Person | None) -> None:
    address = address.strip()
    if len(address) > 300:
        raise DomainError(N_("That is too long (at most {limit} characters)."), limit=300)
    centre.address = address
    audit.record(db, now, "centre.address", actor=actor, subject=centre)


def set_location(db: Session, now: datetime, centre: JobCentre, latitude: float | None,
                 longitude: float | None, *, actor: Person | None) -> None:
    check_coordinates(latitude, longitude)
    centre.latitude, centre.longitude = latitude, longitude
    versions.centre_changed(db, centre.id)
    audit.record(db, now, "centre.location", actor=actor, subject=centre)


def set_timezone(db: Session, now: datetime, centre: JobCentre, zone: str, *,
                 actor: Person | None) -> None:
    try:
        ZoneInfo(zone.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(N_("Unknown time zone: {zone}"), zone=zone) from None
    centre.timezone = zone.strip()
    versions.centre_changed(db, centre.id)
    audit.record(db, now, "centre.timezone", actor=actor, subject=centre, zone=centre.timezone)


def set_disabled(db: Session, now: datetime, centre: JobCentre, disabled: bool, *,
                 actor: Person | None) -> None:
    centre.disabled_at = now if disabled else None
    audit.record(db, now, "centre.disable" if disabled else "centre.enable", actor=actor,
                 subject=centre)


def parse_location(text: str) -> tuple[float | None, float | None]:
    """'59.40, 17.94' → coordinates; '-' → none. Raises DomainError on anything else."""
    text = text.strip()
    if text in ("-", "–", ""):
        return None, None
    parts = text.replace(";", ",").split(",")
    if len(parts) != 2:
        raise DomainError(N_("Send the location as latitude, longitude (e.g. 59.4032, 17.9448), "
                             "or - for none."))
    try:
        latitude, longitude = float(parts[0]), float(parts[1])
    except ValueError:
        raise DomainError(N_("Send the location as latitude, longitude (e.g. 59.4032, 17.9448), "
                             "or - for none.")) from None
    check_coordinates(latitude, longitude)
    return latitude, longitude


def get(db: Session, centre_id: int | None) -> JobCentre | None:
    return db.get(JobCentre, centre_id) if centre_id is not None else None


def every(db: Session) -> list[JobCentre]:
    """Every job centre, disabled ones too, by name."""
    return list(db.scalars(select(JobCentre).order_by(JobCentre.name)))
