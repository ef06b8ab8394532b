"""Group information sessions: creating, changing and cancelling them, booking.

A change of time or place, or a cancellation, re-plans the reminders of every
booking and tells each booked aspirant (through the outbox, in their language),
offering the next sessions with free places.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.errors import DomainError, NotAllowed, NotFound
from bot.i18n import LANGUAGES, N_
from bot.models import Booking, BookingStatus, Enrolment, InfoSession, JobCentre, Person, Role
from bot.services.centres import centres
from bot.services.messaging import outbox
from bot.services.people import people
from bot.services.reminders import planner as reminders
from bot.services.system import audit

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
    check_admin(actor, job_centre.id)
    check_values(now, starts_at, duration, capacity, language)
    centres.check_coordinates(latitude, longitude)
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


MAX_CAPACITY = 500
MAX_DURATION = timedelta(hours=12)


def check_values(now: datetime, starts_at: datetime, duration: timedelta, capacity: int,
                 language: str) -> None:
    if starts_at.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime")
    if starts_at <= now:
        raise DomainError(N_("The information session must start in the future."))
    if duration <= timedelta(0):
        raise DomainError(N_("The information session must end after it starts."))
    if duration > MAX_DURATION:
        raise DomainError(N_("An information session can last at most 12 hours."))
    if not 1 <= capacity <= MAX_CAPACITY:
        raise DomainError(N_("The capacity must be between 1 and {limit}."), limit=MAX_CAPACITY)
    if language not in LANGUAGES:
        raise DomainError(N_("Unknown language: {language}"), language=language)


def check_admin(actor: Person | None, job_centre_id: int) -> None:
    """Only an admin of the centre (or of every centre) manages its sessions; ``None`` is
    the command line, run by whoever runs the server."""
    if actor is None:
        return
    where = people.centres_where(actor, Role.ADMIN)
    if None not in where and job_centre_id not in where:
        raise NotAllowed(N_("Only an administrator of this job centre can change its "
                            "information sessions."))


_WHEN = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T]+(\d{1,2})[:.](\d{2})"
    r"(?:\s*[-–]\s*(\d{1,2})[:.](\d{2}))?\s*$"
)
WHEN_EXAMPLE = "2026-03-10 09:00-11:00"


def parse_when(text: str, zone: ZoneInfo) -> tuple[datetime, timedelta | None]:
    """A local date and time, optionally with an end time: (start in UTC, duration or None).

    ``2026-03-10 09:00`` or ``2026-03-10 09:00-11:00``. A time that does not exist on
    that day (the hour skipped when clocks go forward) is refused rather than guessed.
    """
    match = _WHEN.match(text or "")
    if match is None:
        raise DomainError(N_("Write the date and time like this: {example}"),
                          example=WHEN_EXAMPLE)
    year, month, day, hour, minute = (int(g) for g in match.groups()[:5])
    try:
        local = datetime(year, month, day, hour, minute, tzinfo=zone)
    except ValueError:
        raise DomainError(N_("There is no such date or time: {text}"), text=text.strip()) from None
    start = local.astimezone(UTC)
    if start.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise DomainError(N_("{time} does not exist on that day because the clocks change. "
                             "Please choose another time."), time=f"{hour:02d}:{minute:02d}")
    duration = None
    if match.group(6) is not None:
        try:
            end_local = local.replace(hour=int(match.group(6)), minute=int(match.group(7)))
        except ValueError:
            raise DomainError(N_("There is no such date or time: {text}"),
                              text=text.strip()) from None
        duration = end_local.astimezone(UTC) - start
        if duration <= timedelta(0):
            raise DomainError(N_("The information session must end after it starts."))
    return start, duration


def parse_capacity(text: str) -> int:
    try:
        capacity = int(text.strip())
    except ValueError:
        raise DomainError(N_("The capacity must be a whole number, e.g. 20.")) from None
    if not 1 <= capacity <= MAX_CAPACITY:
        raise DomainError(N_("The capacity must be between 1 and {limit}."), limit=MAX_CAPACITY)
    return capacity


def zone_of(session: InfoSession) -> ZoneInfo:
    return ZoneInfo(session.job_centre.timezone)


def _locked(db: Session, info_session_id: int) -> InfoSession:
    session = db.scalar(
        select(InfoSession).where(InfoSession.id == info_session_id).with_for_update()
    )
    if session is None:
        raise NotFound(N_("That information session no longer exists."))
    return session


def update(
    db: Session,
    now: datetime,
    info_session_id: int,
    *,
    actor: Person | None = None,
    starts_at: datetime | None = None,
    duration: timedelta | None = None,
    place: str | None = None,
    capacity: int | None = None,
    language: str | None = None,
) -> list[str]:
    """Change a session; returns the names of the fields that changed.

    A new time or place re-plans the reminders and tells every booked aspirant.
    """
    session = _locked(db, info_session_id)
    check_admin(actor, session.job_centre_id)
    if session.cancelled_at is not None:
        raise DomainError(N_("That information session is cancelled and cannot be changed."))
    if session.starts_at <= now:
        raise DomainError(N_("That information session has already started and cannot be "
                             "changed."))
    new_start = starts_at if starts_at is not None else session.starts_at
    new_duration = duration if duration is not None else session.ends_at - session.starts_at
    new_capacity = capacity if capacity is not None else session.capacity
    new_language = language if language is not None else session.language
    check_values(now, new_start, new_duration, new_capacity, new_language)
    booked = booked_count(db, session.id)
    if new_capacity < booked:
        raise DomainError(N_("{booked} aspirants are already booked, so the capacity cannot be "
                             "lower than that."), booked=booked)
    new_place = place.strip() if place is not None else session.place
    changed = []
    if new_start != session.starts_at:
        changed.append("starts_at")
    if new_start + new_duration != session.ends_at:
        changed.append("ends_at")
    if new_place != session.place:
        changed.append("place")
    if new_capacity != session.capacity:
        changed.append("capacity")
    if new_language != session.language:
        changed.append("language")
    if not changed:
        return []
    session.starts_at, session.ends_at = new_start, new_start + new_duration
    session.place, session.capacity, session.language = new_place, new_capacity, new_language
    session.updated_at = now
    db.flush()
    audit.record(db, now, "session.update", actor=actor, subject=session, fields=changed)
    if {"starts_at", "ends_at", "place"} & set(changed):
        _tell_booked(db, now, session, changed=True)
    reminders.refresh_session(db, now, session, reason="session_changed")
    return changed


def cancel(db: Session, now: datetime, info_session_id: int, *,
           actor: Person | None = None) -> int:
    """Cancel a session; every booked aspirant is told and offered other times.

    Returns how many aspirants were booked.
    """
    session = _locked(db, info_session_id)
    check_admin(actor, session.job_centre_id)
    if session.cancelled_at is not None:
        raise DomainError(N_("That information session is already cancelled."))
    if session.starts_at <= now:
        raise DomainError(N_("That information session has already started and cannot be "
                             "cancelled."))
    session.cancelled_at = now
    session.updated_at = now
    told = _tell_booked(db, now, session, changed=False)
    for booking in _booked(db, session.id):
        booking.status = BookingStatus.CANCELLED
        booking.updated_at = now
    db.flush()
    audit.record(db, now, "session.cancel", actor=actor, subject=session, booked=told)
    reminders.refresh_session(db, now, session, reason="session_cancelled")
    return told


def _booked(db: Session, info_session_id: int) -> list[Booking]:
    return list(db.scalars(select(Booking).where(
        Booking.info_session_id == info_session_id, Booking.status == BookingStatus.BOOKED
    ).order_by(Booking.id)))


SESSION_CHANGED = "session_changed"
SESSION_CANCELLED = "session_cancelled"
BOOKING_OFFER = "session_offer"


def offers(db: Session, now: datetime, job_centre_id: int, *, exclude: int | None = None,
           limit: int = 3) -> list[InfoSession]:
    """The next sessions with free places, to offer instead of one that does not suit."""
    found = upcoming_with_places(db, now, job_centre_id, limit=limit + 1)
    return [s for s in found if s.id != exclude][:limit]


def offer_params(sessions: list[InfoSession]) -> list[list[object]]:
    """Session ids and start times, for buttons drawn when the message is sent."""
    return [[s.id, s.starts_at.isoformat()] for s in sessions]


def _tell_booked(db: Session, now: datetime, session: InfoSession, *, changed: bool) -> int:
    zone = zone_of(session)
    start = session.starts_at.astimezone(zone)
    alternatives = offer_params(offers(db, now, session.job_centre_id, exclude=session.id))
    bookings = _booked(db, session.id)
    coaches: dict[int, int] = {}
    for booking in bookings:
        aspirant = db.get(Person, booking.aspirant_id)
        if aspirant is None or aspirant.erased_at is not None:
            continue
        params = {"date": start.date(), "time": start.time().replace(tzinfo=None),
                  "place": session.place or session.job_centre.address,
                  "offers": alternatives, "booking_id": booking.id}
        if changed:
            template = (N_("Your information session has been changed.\nNew time: {date} at "
                           "{time}\nPlace: {place}\n\nIf the new time does not suit you, "
                           "choose another one below.") if alternatives else
                        N_("Your information session has been changed.\nNew time: {date} at "
                           "{time}\nPlace: {place}"))
            kind = SESSION_CHANGED
        else:
            template = (N_("We are sorry: the information session on {date} at {time} has "
                           "been cancelled. Please choose a new time below.") if alternatives
                        else N_("We are sorry: the information session on {date} at {time} "
                                "has been cancelled. Your coach will contact you about a new "
                                "time."))
            kind = SESSION_CANCELLED
            enrolment = _enrolment(db, booking.aspirant_id, session.job_centre_id)
            if enrolment is not None and enrolment.coach_id is not None:
                coaches[enrolment.coach_id] = coaches.get(enrolment.coach_id, 0) + 1
        outbox.enqueue(db, now, aspirant, template, kind=kind, params=params)
    for coach_id, count in coaches.items():
        coach = db.get(Person, coach_id)
        if coach is not None and coach.erased_at is None:
            outbox.enqueue(
                db, now, coach,
                N_("The information session on {date} at {time} has been cancelled. Your "
                   "aspirants who were booked on it: {count}. They have been offered other "
                   "times."),
                kind="coach_notice",
                params={"date": start.date(), "time": start.time().replace(tzinfo=None),
                        "count": count},
            )
    return len(bookings)


def _enrolment(db: Session, aspirant_id: int, job_centre_id: int) -> Enrolment | None:
    return people.current_enrolment(db, aspirant_id, job_centre_id=job_centre_id)


def cancel_booking(db: Session, now: datetime, aspirant: Person, booking_id: int) -> Booking:
    """The aspirant cannot come: free the place, stop the reminders, tell the coach."""
    booking = db.get(Booking, booking_id)
    if booking is None or booking.aspirant_id != aspirant.id:
        raise NotFound(N_("That booking no longer exists."))
    session = booking.info_session
    if booking.status != BookingStatus.BOOKED or session.cancelled_at is not None:
        raise DomainError(N_("You are no longer booked on that information session."))
    if session.starts_at <= now:
        raise DomainError(N_("That information session has already started."))
    booking.status = BookingStatus.CANCELLED
    booking.updated_at = now
    db.flush()
    audit.record(db, now, "booking.cancel", actor=aspirant, subject=booking)
    reminders.refresh_booking(db, now, booking, reason="booking_cancelled")
    enrolment = _enrolment(db, aspirant.id, session.job_centre_id)
    coach = db.get(Person, enrolment.coach_id) if enrolment and enrolment.coach_id else None
    if coach is not None and coach.erased_at is None:
        start = session.starts_at.astimezone(zone_of(session))
        outbox.enqueue(
            db, now, coach,
            N_("{name} cannot come to the information session on {date} at {time}. They have "
               "been offered other times."),
            kind="coach_notice",
            params={"name": aspirant.display_name or "?", "date": start.date(),
                    "time": start.time().replace(tzinfo=None)},
        )
    return booking


def confirm_booking(db: Session, now: datetime, aspirant: Person, booking_id: int) -> Booking:
    """The aspirant answered "I'm coming"; kept in the audit log for the coach's follow-up."""
    booking = db.get(Booking, booking_id)
    if booking is None or booking.aspirant_id != aspirant.id:
        raise NotFound(N_("That booking no longer exists."))
    if booking.status != BookingStatus.BOOKED or booking.info_session.cancelled_at is not None:
        raise DomainError(N_("You are no longer booked on that information session."))
    audit.record(db, now, "booking.confirm", actor=aspirant, subject=booking)
    return booking


def own_booking(db: Session, aspirant: Person, booking_id: int) -> Booking:
    """A booking of this aspirant (callback data is never trusted)."""
    booking = db.get(Booking, booking_id)
    if booking is None or booking.aspirant_id != aspirant.id:
        raise NotFound(N_("That booking no longer exists."))
    return booking


def visible_to(db: Session, now: datetime, person: Person, *, days_back: int = 7,
               limit: int = 30) -> list[InfoSession]:
    """Sessions a staff member works with: at their centres, upcoming and the past week's
    (whose attendance may still need recording)."""
    where = people.centres_where(person, Role.ADMIN, Role.COACH, Role.TEAM_LEAD)
    if not where:
        return []
    query = select(InfoSession).where(InfoSession.starts_at > now - timedelta(days=days_back))
    if None not in where:
        query = query.where(InfoSession.job_centre_id.in_([c for c in where if c is not None]))
    return list(db.scalars(query.order_by(InfoSession.starts_at).limit(limit)))


def bookings_on(db: Session, info_session_id: int) -> list[Booking]:
    """Bookings that hold (or held, at the session) a place: booked, attended, no-show."""
    return list(db.scalars(select(Booking).where(
        Booking.info_session_id == info_session_id,
        Booking.status != BookingStatus.CANCELLED,
    ).order_by(Booking.id)))


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
    # Reminders for the new booking, and none any more for the one it replaced.
    reminders.refresh_aspirant_bookings(db, now, aspirant.id, reason="rebooked")
    return existing


def get(db: Session, info_session_id: int) -> InfoSession | None:
    return db.get(InfoSession, info_session_id)


def booking(db: Session, booking_id: int) -> Booking | None:
    return db.get(Booking, booking_id)


HOLIDAY, CLOSED, WEEKEND = "holiday", "closed", "weekend"


def day_off(db: Session, job_centre_id: int, starts_at: datetime) -> tuple[str, str] | None:
    """Why the session's day is not a working day at the centre — (HOLIDAY, ""), (CLOSED,
    the closed day's note) or (WEEKEND, "") — or None on a working day. A session is not
    refused for it (a Saturday session may be meant), but the admin is told before it is
    made."""
    from bot.calendar import is_public_holiday
    from bot.models import ClosedDay
    from bot.services.centres.calendars import calendar_for

    centre = db.get(JobCentre, job_centre_id)
    zone = ZoneInfo(centre.timezone if centre else "Europe/Stockholm")
    day = starts_at.astimezone(zone).date()
    if calendar_for(db, job_centre_id).is_working_day(day):
        return None
    closed = db.scalar(select(ClosedDay.note).where(ClosedDay.job_centre_id == job_centre_id,
                                                    ClosedDay.day == day))
    if closed is not None:
        return CLOSED, closed
    if day.weekday() >= 5 and not is_public_holiday(day):
        return WEEKEND, ""
    # A public holiday, or an eve taken off in Swedish working life.
    return HOLIDAY, ""


def has_attended(db: Session, aspirant_id: int) -> bool:
    """Whether the aspirant has come to an information session."""
    return db.scalar(select(Booking.id).where(
        Booking.aspirant_id == aspirant_id,
        Booking.status == BookingStatus.ATTENDED).limit(1)) is not None


def recordable_bookings(db: Session, person: Person, info_session: InfoSession) -> list[Booking]:
    """The bookings on a session whose attendance this staff member may record: all of
    them for an admin or team lead of the centre, else their own aspirants'."""
    bookings = bookings_on(db, info_session.id)
    where = people.centres_where(person, Role.ADMIN, Role.TEAM_LEAD)
    if None in where or info_session.job_centre_id in where:
        return bookings
    coached = set(db.scalars(select(Enrolment.aspirant_id).where(
        Enrolment.coach_id == person.id, Enrolment.left_at.is_(None))))
    return [b for b in bookings if b.aspirant_id in coached]


def visible_centres(person: Person) -> set[int | None]:
    """The centres whose sessions a staff member works with (None: every centre)."""
    return people.centres_where(person, Role.ADMIN, Role.COACH, Role.TEAM_LEAD)
