"""The events reminders are planned for, read set-wise: what the planner needs of each.

An event is a booking on an information session, a plan milestone, or a day's check-in
of an enrolment with an attendance requirement. Each loader reads a whole chunk of events
(with the people concerned) in one statement, as plain frozen values, so planning a chunk
costs a handful of statements however many events it holds, and nothing stays attached
to a session once the chunk is done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Executable, Select, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from bot.models import (
    AbsenceReport,
    AttendanceRecord,
    Booking,
    BookingStatus,
    Enrolment,
    InfoSession,
    MilestoneKind,
    Person,
    PlanMilestone,
)


def read(db: Session, query: Executable) -> CursorResult[Any]:
    """Rows of a column query straight from the connection, without the ORM's loading (a
    chunk reads thousands); what the session holds unwritten is flushed first."""
    db.flush()
    return db.connection().execute(query)


def among(db: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values``. On PostgreSQL as one array parameter (``= ANY``): the statement
    text is the same whatever the chunk's size, so the driver parses it once, not a
    placeholder per value each time."""
    values = list(values)
    if db.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A person a reminder may go to (or be about)."""

    id: int
    name: str | None
    # Not erased, has a chat, and Telegram has not refused delivery.
    reachable: bool


def _person_columns(person: Any) -> list[Any]:
    return [person.id, person.display_name, person.chat_id, person.erased_at,
            person.unreachable_at]


def recipient(values: tuple[Any, ...]) -> Recipient | None:
    """A Recipient from the five ``_person_columns`` values (None for an outer-join miss)."""
    person_id, name, chat_id, erased_at, unreachable_at = values
    if person_id is None:
        return None
    return Recipient(person_id, name, erased_at is None and chat_id is not None
                     and unreachable_at is None)


@dataclass(frozen=True, slots=True)
class EnrolmentFacts:
    id: int
    centre_id: int
    aspirant: Recipient
    coach: Recipient | None
    attendance_required: bool
    open: bool  # not left
    # The day of the intake (None: not yet): the daily requirement starts the day after.
    intake_on: date | None = None


@dataclass(frozen=True, slots=True)
class BookingFacts:
    id: int
    aspirant_id: int
    centre_id: int
    # Booked, on a session that is not cancelled.
    live: bool
    starts_at: datetime
    place: str


@dataclass(frozen=True, slots=True)
class MilestoneFacts:
    id: int
    kind: MilestoneKind
    due_on: date
    open: bool  # neither done nor cancelled
    enrolment: EnrolmentFacts


_aspirant = aliased(Person, name="aspirant")
_coach = aliased(Person, name="coach")
_ENROLMENT_COLUMNS = [Enrolment.id, Enrolment.job_centre_id, Enrolment.attendance_required,
                      Enrolment.left_at, *_person_columns(_aspirant), *_person_columns(_coach),
                      Enrolment.intake_on]
_ENROLMENT_WIDTH = len(_ENROLMENT_COLUMNS)


def _with_people(query: Select[Any]) -> Select[Any]:
    return (query.join(_aspirant, _aspirant.id == Enrolment.aspirant_id)
            .outerjoin(_coach, _coach.id == Enrolment.coach_id))


def _enrolment(values: tuple[Any, ...]) -> EnrolmentFacts:
    enrolment_id, centre_id, required, left_at = values[:4]
    aspirant = recipient(values[4:9])
    assert aspirant is not None  # an inner join
    return EnrolmentFacts(enrolment_id, centre_id, aspirant, recipient(values[9:14]),
                          bool(required), left_at is None, values[14])


def enrolments(db: Session, *where: ColumnElement[bool], after: int | None = None,
               limit: int | None = None) -> list[EnrolmentFacts]:
    """Enrolments in id order (``after``/``limit``: one chunk of a keyset walk)."""
    query = _with_people(select(*_ENROLMENT_COLUMNS)).where(*where)
    if after is not None:
        query = query.where(Enrolment.id > after)
    query = query.order_by(Enrolment.id)
    if limit is not None:
        query = query.limit(limit)
    return [_enrolment(tuple(row)) for row in read(db, query)]


def current_enrolments(db: Session, aspirant_ids: Iterable[int]
                       ) -> dict[tuple[int, int], EnrolmentFacts]:
    """Each aspirant's open enrolment per job centre (the latest, if several)."""
    ids = sorted(set(aspirant_ids))
    if not ids:
        return {}
    query = (_with_people(select(*_ENROLMENT_COLUMNS, Enrolment.aspirant_id))
             .where(among(db, Enrolment.aspirant_id, ids), Enrolment.left_at.is_(None))
             .order_by(Enrolment.enrolled_at.desc()))
    found: dict[tuple[int, int], EnrolmentFacts] = {}
    for row in read(db, query):
        values = tuple(row)
        enrolment = _enrolment(values[:_ENROLMENT_WIDTH])
        found.setdefault((values[_ENROLMENT_WIDTH], enrolment.centre_id), enrolment)
    return found


def bookings(db: Session, *where: ColumnElement[bool], after: int | None = None,
             limit: int | None = None) -> list[BookingFacts]:
    query = (select(Booking.id, Booking.aspirant_id, Booking.status, InfoSession.job_centre_id,
                    InfoSession.cancelled_at, InfoSession.starts_at, InfoSession.place)
             .join(InfoSession, InfoSession.id == Booking.info_session_id).where(*where))
    if after is not None:
        query = query.where(Booking.id > after)
    query = query.order_by(Booking.id)
    if limit is not None:
        query = query.limit(limit)
    return [BookingFacts(booking_id, aspirant_id, centre_id,
                         status == BookingStatus.BOOKED and cancelled_at is None, starts_at,
                         place or "")
            for booking_id, aspirant_id, status, centre_id, cancelled_at, starts_at, place
            in read(db, query)]


def upcoming_session_ids(db: Session, now: datetime, centre_id: int | None) -> list[int]:
    """Sessions not cancelled that start after two days ago: their bookings are planned."""
    query = select(InfoSession.id).where(InfoSession.starts_at > now - timedelta(days=2),
                                         InfoSession.cancelled_at.is_(None))
    if centre_id is not None:
        query = query.where(InfoSession.job_centre_id == centre_id)
    return list(read(db, query.order_by(InfoSession.id)).scalars())


def milestones(db: Session, *where: ColumnElement[bool]) -> list[MilestoneFacts]:
    query = (_with_people(select(PlanMilestone.id, PlanMilestone.kind, PlanMilestone.due_on,
                                 PlanMilestone.done_at, PlanMilestone.cancelled_at,
                                 *_ENROLMENT_COLUMNS)
                          .select_from(PlanMilestone)
                          .join(Enrolment, Enrolment.id == PlanMilestone.enrolment_id))
             .where(*where).order_by(PlanMilestone.id))
    found = []
    for row in read(db, query):
        milestone_id, kind, due_on, done_at, cancelled_at, *rest = tuple(row)
        found.append(MilestoneFacts(milestone_id, kind, due_on,
                                    done_at is None and cancelled_at is None,
                                    _enrolment(tuple(rest))))
    return found


def recorded_days(db: Session, enrolment_ids: Iterable[int], first: date, last: date
                  ) -> set[tuple[int, date]]:
    """(enrolment, day) from ``first`` to ``last`` with a check-in, a mark or a reported
    absence: no check-in reminder on those days."""
    ids = sorted(set(enrolment_ids))
    if not ids:
        return set()
    found = {(enrolment_id, day) for enrolment_id, day in read(db, select(
        AttendanceRecord.enrolment_id, AttendanceRecord.day).where(
            among(db, AttendanceRecord.enrolment_id, ids), AttendanceRecord.day >= first,
            AttendanceRecord.day <= last))}
    for enrolment_id, first_day, last_day in read(db, select(
            AbsenceReport.enrolment_id, AbsenceReport.first_day, AbsenceReport.last_day)
            .where(among(db, AbsenceReport.enrolment_id, ids), AbsenceReport.first_day <= last,
                   AbsenceReport.last_day >= first)):
        day = max(first_day, first)
        while day <= min(last_day, last):
            found.add((enrolment_id, day))
            day += timedelta(days=1)
    return found
