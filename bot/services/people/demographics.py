"""Gender and birth year: optional, recorded by the coach, only where an admin turned them on.

They exist for one purpose: figures by gender and age band, which the city asked for.
The bot never asks the aspirant; the aspirant sees them under /mydata.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import Session

from bot.errors import DomainError
from bot.i18n import N_
from bot.models import Person
from bot.services.attendance import follow_up
from bot.services.centres import org_settings
from bot.services.system import audit

GENDERS = ("woman", "man", "other")
GENDER_NAMES = {"woman": N_("woman"), "man": N_("man"), "other": N_("other gender")}
# Age bands the city follows (young people up to 24, and up to 29, are target groups).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("16-24", 16, 24),
    ("25-29", 25, 29),
    ("30-49", 30, 49),
    ("50+", 50, None),
)
YOUNGEST = 16


def enabled(db: Session) -> bool:
    return bool(org_settings.get(db, org_settings.RECORD_GENDER_AND_AGE))


def _aspirant(db: Session, actor: Person, enrolment_id: int) -> Person:
    if not enabled(db):
        raise DomainError(N_("Gender and age are not recorded here; an administrator can "
                             "switch them on."))
    enrolment = follow_up.enrolment_for(db, actor, enrolment_id)
    return enrolment.aspirant


def record_gender(db: Session, now: datetime, actor: Person, enrolment_id: int,
                  gender: str | None) -> Person:
    if gender is not None and gender not in GENDERS:
        raise DomainError(N_("Unknown gender."))
    person = _aspirant(db, actor, enrolment_id)
    person.gender = gender
    audit.record(db, now, "person.gender", actor=actor, subject=person)
    return person


def parse_birth_year(text: str, today: date) -> int | None:
    text = text.strip()
    if text in ("-", "–"):
        return None
    # isdecimal, not isdigit: int() reads any script's decimal digits (١٩٩٠), not "²".
    if not (text.isdecimal() and len(text) == 4):
        raise DomainError(N_("Write the year of birth with four digits, e.g. 1990, or - to "
                             "remove it."))
    year = int(text)
    if not today.year - 100 <= year <= today.year - YOUNGEST:
        raise DomainError(N_("The year of birth must be between {first} and {last}."),
                          first=str(today.year - 100), last=str(today.year - YOUNGEST))
    return year


def record_birth_year(db: Session, now: datetime, actor: Person, enrolment_id: int,
                      year: int | None) -> Person:
    person = _aspirant(db, actor, enrolment_id)
    person.birth_year = year
    audit.record(db, now, "person.birth_year", actor=actor, subject=person)
    return person


def age_band(birth_year: int | None, on: date) -> str | None:
    if birth_year is None:
        return None
    age = on.year - birth_year
    for label, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return None


def band_condition(label: str, on: date) -> ColumnElement[bool]:
    """SQL condition on Person for an age band, by age reached in ``on``'s year."""
    _label, low, high = next(band for band in AGE_BANDS if band[0] == label)
    condition = Person.birth_year <= on.year - low
    if high is not None:
        condition = and_(condition, Person.birth_year >= on.year - high)
    return condition
