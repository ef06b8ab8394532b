"""Organisation-wide settings that admins change, with their defaults and validation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import keywords
from bot.errors import DomainError
from bot.i18n import N_
from bot.models import Person, Setting
from bot.services.system import audit

# key -> (default, validator returning the clean value or raising DomainError)
RETENTION_DAYS = "retention_days"
RECORD_GENDER_AND_AGE = "record_gender_and_age"


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DomainError(N_("Give a whole number of days."))
    try:
        days = int(value)
    except ValueError:
        raise DomainError(N_("Give a whole number of days.")) from None
    if not 30 <= days <= 3650:
        raise DomainError(N_("The retention period must be between 30 and 3650 days."))
    return days


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    # "yes" or "no" in any of the bot's languages ("ja", "نعم", "haa"…), as a button says it.
    if isinstance(value, str) and keywords.is_yes(value):
        return True
    if isinstance(value, str) and keywords.is_no(value):
        return False
    raise DomainError(N_("Answer yes or no."))


DEFINITIONS: dict[str, tuple[Any, Any]] = {
    # Personal data of people who left is erased this long after they left.
    RETENTION_DAYS: (365, _days),
    # Gender and birth year are optional fields for figures; off unless an admin turns them on.
    RECORD_GENDER_AND_AGE: (False, _flag),
}


def get(db: Session, key: str) -> Any:
    default, _check = DEFINITIONS[key]
    row = db.scalar(select(Setting).where(Setting.key == key))
    return row.value if row is not None else default


def set_value(db: Session, now: datetime, key: str, value: Any, *, actor: Person | None) -> Any:
    if key not in DEFINITIONS:
        raise DomainError(N_("Unknown setting: {key}"), key=key)
    clean = DEFINITIONS[key][1](value)
    row = db.scalar(select(Setting).where(Setting.key == key))
    if row is None:
        row = Setting(key=key)
        db.add(row)
    old = row.value
    row.value = clean
    row.updated_at = now
    row.updated_by_id = actor.id if actor else None
    db.flush()
    audit.record(db, now, "setting.change", actor=actor, subject=row, key=key, old=old, new=clean)
    return clean


def all_values(db: Session) -> dict[str, Any]:
    return {key: get(db, key) for key in DEFINITIONS}
