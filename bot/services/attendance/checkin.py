"""An aspirant checks in at their job centre: the daily requirement and information sessions.

A check-in proves presence with the rotating code shown at the venue and, where
the centre's policy says so, a shared location inside its radius. A location counts
only as a live location shared for at least ``MIN_LIVE_PERIOD``: a plain pin can be
dropped anywhere on the map, so it counts only where an admin chose that explicitly.
The record keeps which evidence the check-in had (``evidence``), so the attendance
statement says it. Every refusal is a DomainError whose message tells the aspirant what
to do; nothing is changed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from bot.errors import DomainError
from bot.i18n import N_
from bot.models import (
    AttendancePolicy,
    AttendanceRecord,
    AttendanceStatus,
    Booking,
    BookingStatus,
    CheckInMethod,
    Enrolment,
    InfoSession,
    LocationRule,
    Person,
    Throttle,
)
from bot.services.attendance import centre_facts, checkin_codes
from bot.services.attendance.centre_facts import CentreFacts
from bot.services.attendance.checkin_codes import CodeCheck
from bot.services.attendance.policy import Day, attendance_starts_on, required_on
from bot.services.people import people
from bot.services.people.identity import ActiveEnrolment, current_enrolment_id
from bot.services.plans import milestones
from bot.services.system import audit, throttle

# Wrong or stale codes allowed per aspirant before they must wait.
BAD_CODE_LIMIT = 5
BAD_CODE_WINDOW = timedelta(minutes=10)
# Check-in for an information session opens this long before it starts.
SESSION_EARLY = timedelta(minutes=30)
# A proof given in an earlier message of the same check-in counts this long.
PROOF_VALID_FOR = timedelta(minutes=5)

# A live location shared for less than this does not count (Telegram offers 15 minutes,
# 1 hour and 8 hours; the number here only refuses what a client could forge).
MIN_LIVE_PERIOD = 5 * 60

# What a check-in can be proven with; the evidence of a check-in is the set, joined by "+".
CODE = "code"
LIVE_LOCATION = "live_location"
LOCATION_PIN = "location_pin"
PROOFS = frozenset({CODE, LIVE_LOCATION, LOCATION_PIN})
# What ``NeedsProof.missing`` asks for: the code, or a location.
LOCATION = "location"


@dataclass(frozen=True)
class SharedLocation:
    """A location sent in the chat: live (with the seconds it is shared for) or a pin."""

    latitude: float
    longitude: float
    live_period: int | None = None
    forwarded: bool = False

    @property
    def live(self) -> bool:
        return (not self.forwarded and self.live_period is not None
                and self.live_period >= MIN_LIVE_PERIOD)


def evidence_of(proven: Iterable[str]) -> str:
    """The stored form of what proved a check-in, e.g. "code+live_location"."""
    return "+".join(sorted(set(proven) & PROOFS))


class BadCode(DomainError):
    """A wrong, stale or malformed code; the caller counts guesses against the aspirant's
    attempts (a malformed one is a typing slip, not a guess)."""

    def __init__(self, message: str, *, stale: bool, guess: bool = True,
                 **params: object) -> None:
        super().__init__(message, **params)
        self.stale = stale
        self.guess = guess


class NeedsProof(DomainError):
    """What was given is right but not enough: ``missing`` (code or location) must follow."""

    def __init__(self, message: str, *, missing: str, proven: set[str],
                 pins_count: bool = False) -> None:
        super().__init__(message)
        self.missing = missing
        self.proven = proven
        # Whether a plain pin would count (so a button that sends one is worth showing).
        self.pins_count = pins_count


@dataclass(frozen=True)
class RecordState:
    """Today's attendance record of the enrolment, as read (id None: there is none)."""

    id: int | None = None
    status: AttendanceStatus | None = None
    recorded_at: datetime | None = None


@dataclass
class Opening:
    """What a check-in now would count for."""

    enrolment: ActiveEnrolment
    facts: CentreFacts
    day: Day
    record: RecordState
    bad_codes: int = 0
    daily: bool = False
    late: bool = False
    booking: Booking | None = None
    session: InfoSession | None = None

    @property
    def location_rule(self) -> LocationRule:
        return self.facts.location_rule

    @property
    def policy(self) -> AttendancePolicy:
        return self.facts.policy


@dataclass
class CheckIn:
    daily: bool
    late: bool
    session: InfoSession | None
    method: CheckInMethod
    centre_name: str
    closes_at: datetime
    proven: set[str] = field(default_factory=set)

    @property
    def evidence(self) -> str:
        return evidence_of(self.proven)


_enrolment = Enrolment.__table__.c
_policy = AttendancePolicy.__table__.c
_record = AttendanceRecord.__table__.c
_throttle = Throttle.__table__.c
_booking = Booking.__table__.c
_session = InfoSession.__table__.c

_CURRENT = (
    select(_enrolment.id, _enrolment.job_centre_id, _enrolment.coach_id,
           _enrolment.attendance_required, _enrolment.intake_on, _policy.version)
    .select_from(Enrolment.__table__)
    .outerjoin(AttendancePolicy.__table__, _policy.job_centre_id == _enrolment.job_centre_id)
    .where(_enrolment.id == current_enrolment_id(bindparam("aspirant")))
)


def current_enrolment(db: Session, aspirant_id: int) -> ActiveEnrolment:
    """The aspirant's current enrolment, or refuse."""
    row = db.connection().execute(_CURRENT, {"aspirant": aspirant_id}).first()
    if row is None:
        raise DomainError(N_("You are not enrolled at a job centre, so there is nothing to "
                             "check in to. Please talk to your coach."))
    return ActiveEnrolment(row.id, row.job_centre_id, row.coach_id,
                           bool(row.attendance_required), row.version, row.intake_on)


def enrolment_of(db: Session, aspirant: Person) -> Enrolment:
    """The aspirant's current enrolment (with its job centre), or refuse."""
    enrolment = people.current_enrolment(db, aspirant.id)
    if enrolment is None:
        raise DomainError(N_("You are not enrolled at a job centre, so there is nothing to "
                             "check in to. Please talk to your coach."))
    return enrolment


def _scalar(query):  # type: ignore[no-untyped-def]
    # No LIMIT: each query finds at most one row (unique keys, or an aggregate).
    return query.scalar_subquery()


# Everything else a check-in reads, in one statement: today's record, the wrong codes
# counted in the current window, and a booking on a session that is on now.
_STATE = select(
    _scalar(select(_record.id).where(_record.enrolment_id == bindparam("enrolment"),
                                     _record.day == bindparam("day"))).label("record_id"),
    _scalar(select(_record.status).where(_record.enrolment_id == bindparam("enrolment"),
                                         _record.day == bindparam("day"))).label("status"),
    _scalar(select(_record.recorded_at).where(_record.enrolment_id == bindparam("enrolment"),
                                              _record.day == bindparam("day"))
            ).label("recorded_at"),
    _scalar(select(_throttle.count).where(_throttle.key == bindparam("throttle_key"),
                                          _throttle.window_started_at > bindparam("since"))
            ).label("bad_codes"),
    _scalar(select(func.min(_booking.id))
            .join(InfoSession.__table__, _session.id == _booking.info_session_id)
            .where(_booking.aspirant_id == bindparam("aspirant"),
                   # Two comparisons, not IN: a literal IN list is rendered anew at
                   # every execution ("post-compile"), on the hottest statement there is.
                   or_(_booking.status == BookingStatus.BOOKED.value,
                       _booking.status == BookingStatus.ATTENDED.value),
                   _session.job_centre_id == bindparam("centre"),
                   _session.cancelled_at.is_(None),
                   _session.starts_at <= bindparam("early"),
                   _session.ends_at >= bindparam("now"))).label("booking_id"),
)


def opening(db: Session, now: datetime, aspirant: Person | int, *,
            enrolment: ActiveEnrolment | None = None) -> Opening:
    """What the aspirant can check in to right now; refuses with the reason if nothing."""
    aspirant_id = aspirant if isinstance(aspirant, int) else aspirant.id
    enrolment = enrolment or current_enrolment(db, aspirant_id)
    facts = centre_facts.facts(db, now, enrolment.job_centre_id, enrolment.policy_version)
    day = facts.today(now)
    row = db.connection().execute(_STATE, {
        "enrolment": enrolment.id, "day": day.day, "aspirant": aspirant_id,
        "throttle_key": _throttle_key(aspirant_id), "since": now - BAD_CODE_WINDOW,
        "centre": enrolment.job_centre_id, "early": now + SESSION_EARLY, "now": now,
    }).one()
    record = RecordState()
    if row.record_id is not None:
        record = RecordState(row.record_id, AttendanceStatus(row.status), row.recorded_at)
    found = Opening(enrolment=enrolment, facts=facts, day=day, record=record,
                    bad_codes=row.bad_codes or 0)
    if row.booking_id is not None:
        found.booking = db.get(Booking, row.booking_id)
        found.session = found.booking.info_session if found.booking is not None else None
    session_done = found.booking is not None and found.booking.status == BookingStatus.ATTENDED
    if found.booking is not None and session_done:
        found.booking = None
    phase = day.phase(now)
    present = record.status == AttendanceStatus.PRESENT
    required = required_on(enrolment, day.day)
    if required and phase in ("open", "grace"):
        if present:
            if found.booking is None:
                raise DomainError(N_("You have already checked in today, at {time}."),
                                  time=_local_time(record.recorded_at, day))  # type: ignore[arg-type]
        else:
            found.daily = True
            found.late = phase == "grace"
    if found.daily or found.booking is not None:
        return found
    if session_done:
        raise DomainError(N_("You have already checked in to today's information session."))
    if enrolment.attendance_required and not required:
        # The requirement starts the day after the intake, never before.
        if enrolment.intake_on is None:
            raise DomainError(N_("Your daily check-in starts the day after your group "
                                 "information session. Until then there is nothing to check "
                                 "in to."))
        raise DomainError(N_("Your daily check-in starts on {date}."),
                          date=attendance_starts_on(enrolment))
    if not required:
        raise DomainError(N_("You have no daily check-in and no information session to check "
                             "in to right now."))
    if phase == "closed":
        raise DomainError(N_("There is no check-in today: the job centre is closed."))
    if phase == "before":
        raise DomainError(N_("Check-in opens at {time} today. Please come back then."),
                          time=day.opens.astimezone(day.zone).time())
    if present:
        raise DomainError(N_("You have already checked in today, at {time}."),
                          time=_local_time(record.recorded_at, day))  # type: ignore[arg-type]
    raise DomainError(N_("Check-in closed at {time} today. If you are at the job centre, "
                         "please talk to the staff there."),
                      time=day.cutoff.astimezone(day.zone).time())


def check_in(
    db: Session,
    now: datetime,
    aspirant: Person | int,
    *,
    enrolment: ActiveEnrolment | None = None,
    job_centre_id: int | None = None,
    code: str | None = None,
    location: SharedLocation | tuple[float, float] | None = None,
    proven_before: Iterable[str] = (),
) -> CheckIn:
    """Check the aspirant in with a code and/or a location; refuses with a clear reason.

    ``enrolment`` is the current enrolment if the caller has read it already;
    ``job_centre_id`` is the centre named in a scanned link; ``proven_before`` the proofs
    accepted earlier in the same check-in (see PROOF_VALID_FOR, kept by the caller).
    The common case reads two statements (the enrolment with its centre's policy
    version, and the day's state) and writes one.
    """
    aspirant_id = aspirant if isinstance(aspirant, int) else aspirant.id
    enrolment = enrolment or current_enrolment(db, aspirant_id)
    if job_centre_id is not None and job_centre_id != enrolment.job_centre_id:
        facts = centre_facts.facts(db, now, enrolment.job_centre_id, enrolment.policy_version)
        raise DomainError(
            N_("This check-in code belongs to another job centre. You can only check in at "
               "your own job centre, {centre}."), centre=facts.name)
    found = opening(db, now, aspirant_id, enrolment=enrolment)
    if found.bad_codes >= BAD_CODE_LIMIT:
        raise DomainError(N_("Too many wrong codes in a short time. Please wait 10 minutes, "
                             "or ask the staff at the job centre."))
    proven = set(proven_before) & PROOFS
    if code is not None:
        _check_code(db, now, found, code)
        proven.add(CODE)
    if location is not None:
        if not isinstance(location, SharedLocation):
            location = SharedLocation(*location)  # coordinates alone: a pin
        proven.add(_check_location(found, location, proven))
    located = bool(proven & {LIVE_LOCATION, LOCATION_PIN})
    rule = found.location_rule
    if rule == LocationRule.REQUIRED and not (CODE in proven and located):
        missing = LOCATION if CODE in proven else CODE
        if missing == CODE:
            message = N_("Your location is right. Now please type the code shown at the job "
                         "centre.")
        elif found.policy.accept_location_pin:
            message = N_("The code is right. Now please share your location, so we can see "
                         "you are at the job centre.")
        else:
            message = LIVE_LOCATION_NEEDED
        raise NeedsProof(message, missing=missing, proven=proven,
                         pins_count=found.policy.accept_location_pin)
    if CODE not in proven and not (rule == LocationRule.ALTERNATIVE and located):
        raise NeedsProof(N_("Please type the 6-digit code shown at the job centre."),
                         missing=CODE, proven=proven)
    method = CheckInMethod.CODE if CODE in proven else CheckInMethod.LOCATION
    if found.daily:
        _record_present(db, now, found, method, evidence_of(proven))
    if found.booking is not None:
        _session_attended(db, now, found, aspirant_id)
    return CheckIn(daily=found.daily, late=found.late, session=found.session, method=method,
                   centre_name=found.facts.name, closes_at=found.day.closes, proven=proven)


def _local_time(moment: datetime, day: Day) -> time:
    return moment.astimezone(day.zone).time().replace(second=0, microsecond=0)


# --- wrong codes ------------------------------------------------------------------------
def throttle_key(aspirant: Person | int) -> str:
    """The counter of an aspirant's wrong codes (erasure deletes it with the person)."""
    return f"checkin:{aspirant if isinstance(aspirant, int) else aspirant.id}"


_throttle_key = throttle_key


def too_many_bad_codes(db: Session, now: datetime, aspirant: Person | int) -> bool:
    return throttle.too_many(db, now, _throttle_key(aspirant), limit=BAD_CODE_LIMIT,
                             window=BAD_CODE_WINDOW)


def count_bad_code(db: Session, now: datetime, aspirant: Person | int) -> int:
    """Count a wrong or stale code; the caller commits it even though the check-in failed."""
    return throttle.count_attempt(db, now, _throttle_key(aspirant), window=BAD_CODE_WINDOW)


def _check_code(db: Session, now: datetime, found: Opening, code: str) -> None:
    digits = checkin_codes.normalise(code)
    if digits is None:
        raise BadCode(N_("A check-in code has 6 digits. Please type the code shown at the "
                         "job centre."), stale=False, guess=False)
    result = checkin_codes.check(found.policy, digits, now)
    if result == CodeCheck.VALID:
        return
    if result == CodeCheck.STALE:
        raise BadCode(N_("This code has expired. Codes change every minute: please use the "
                         "code shown now."), stale=True)
    other = _centre_with_code(db, now, digits, exclude=found.facts.centre_id)
    if other is not None:
        raise BadCode(N_("This code belongs to another job centre. You can only check in at "
                         "your own job centre, {centre}."), stale=False,
                      centre=found.facts.name)
    raise BadCode(N_("This code is not right. Please check the code shown at the job centre "
                     "and try again."), stale=False)


def _centre_with_code(db: Session, now: datetime, code: str, *, exclude: int) -> int | None:
    for policy in db.scalars(select(AttendancePolicy)
                             .where(AttendancePolicy.job_centre_id != exclude)):
        if checkin_codes.check(policy, code, now) == CodeCheck.VALID:
            return policy.job_centre_id
    return None


# --- location ---------------------------------------------------------------------------
EARTH_RADIUS_M = 6_371_000


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


LIVE_LOCATION_NEEDED = N_(
    "The code is right. Now please share your live location, so we can see you are at the "
    "job centre: tap 📎, then Location, then Share My Live Location.")
PIN_REFUSED = N_(
    "A location pin can be sent from anywhere, so it does not show that you are here. Please "
    "type the code shown at the job centre, or share your live location: tap 📎, then "
    "Location, then Share My Live Location.")
PIN_REFUSED_WITH_CODE = N_(
    "A location pin can be sent from anywhere, so it does not show that you are here. Please "
    "share your live location: tap 📎, then Location, then Share My Live Location.")


def _check_location(found: Opening, location: SharedLocation, proven: set[str]) -> str:
    """The proof the location gives (live or pin), or refuse."""
    if found.location_rule == LocationRule.OFF:
        raise DomainError(N_("Check-in here works with the code shown at the job centre. "
                             "Please type the code."))
    if not location.live and not found.policy.accept_location_pin:
        # Not evidence of being here: the check-in goes on, waiting for real proof.
        required = found.location_rule == LocationRule.REQUIRED
        message = PIN_REFUSED_WITH_CODE if required and CODE in proven else PIN_REFUSED
        raise NeedsProof(message, missing=LOCATION if required and CODE in proven else CODE,
                         proven=proven)
    lat, lon = location.latitude, location.longitude
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise DomainError(N_("That location could not be read. Please try again."))
    centre = (found.facts.latitude, found.facts.longitude)
    distance = distance_m(centre, (lat, lon))  # type: ignore[arg-type]
    if distance > found.policy.radius_m:
        raise DomainError(
            N_("Your location is about {distance} m from the job centre. Please check in when "
               "you are there."), distance=int(round(distance, -1)))
    return LIVE_LOCATION if location.live else LOCATION_PIN


# --- recording --------------------------------------------------------------------------
_PRESENT = {"status": AttendanceStatus.PRESENT.value, "method": bindparam("method"),
            "evidence": bindparam("evidence"), "recorded_at": bindparam("now"),
            "recorded_by_id": None}
_MARK_PRESENT = update(AttendanceRecord.__table__).where(_record.id == bindparam("record")
                                                         ).values(**_PRESENT)
_INSERT_PRESENT = insert(AttendanceRecord.__table__).values(
    enrolment_id=bindparam("enrolment"), day=bindparam("day"), **_PRESENT)


def _record_present(db: Session, now: datetime, found: Opening,
                    method: CheckInMethod, evidence: str) -> None:
    """One write: the day's record becomes "present" (someone who reported an absence
    but came anyway is present), with the evidence it had."""
    connection = db.connection()
    if found.record.id is not None:
        connection.execute(_MARK_PRESENT, {"record": found.record.id, "method": method.value,
                                           "evidence": evidence, "now": now})
    else:
        connection.execute(_INSERT_PRESENT, {"enrolment": found.enrolment.id,
                                             "day": found.day.day, "method": method.value,
                                             "evidence": evidence, "now": now})


def _session_attended(db: Session, now: datetime, found: Opening, aspirant_id: int) -> None:
    assert found.booking is not None and found.session is not None
    found.booking.status = BookingStatus.ATTENDED
    found.booking.updated_at = now
    db.flush()
    audit.record(db, now, "booking.attended", actor=db.get(Person, aspirant_id),
                 subject=found.booking, method="check_in")
    # The first job plan is due five working days after the information session.
    milestones.on_info_session_attended(db, now, found.enrolment.id, found.day.day)
