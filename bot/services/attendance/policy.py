"""The attendance policy of a job centre: which days, the check-in window, what escalates.

Every job centre has one; it is created with the defaults the first time it is
needed, so a new centre works without set-up. Times are local to the centre.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar, at_local, local_date
from bot.errors import DomainError
from bot.i18n import N_
from bot.models import (
    AbsenceReason,
    AttendancePolicy,
    EventKind,
    JobCentre,
    LocationRule,
    Person,
)
from bot.services.attendance.days import (  # re-exported: callers read them here
    DEFAULT_WEEKDAYS,
    DEFAULT_WINDOW_END,
    DEFAULT_WINDOW_START,
    HasRequirement,  # noqa: F401
    attendance_starts_on,  # noqa: F401
    is_attendance_day,
    required_on,  # noqa: F401
    weekdays_of,
)
from bot.services.centres.calendars import calendar_for
from bot.services.reminders import planner as reminders
from bot.services.system import audit

__all__ = [
    "DEFAULT_WEEKDAYS",
    "DEFAULT_WINDOW_END",
    "DEFAULT_WINDOW_START",
    "MAX_STEP_SECONDS",
    "Day",
    "attendance_days_back",
    "day_at",
    "describe",
    "is_attendance_day",
    "new_secret",
    "policy_for",
    "today_at",
    "update",
    "weekdays_of",
    "zone_of",
]

MAX_STEP_SECONDS = 3600
# Every reason, in the order they are offered.
ALL_REASONS = tuple(AbsenceReason)
DEFAULT_ALERT_DELAY = 30


def new_secret() -> str:
    return secrets.token_hex(32)


def policy_for(db: Session, now: datetime, job_centre_id: int, *,
               lock: bool = False) -> AttendancePolicy:
    """The centre's policy, created with the defaults if it has none yet."""
    query = select(AttendancePolicy).where(AttendancePolicy.job_centre_id == job_centre_id)
    if lock:
        query = query.with_for_update()
    policy = db.scalar(query)
    if policy is not None:
        return policy
    # A savepoint, so that two instances creating it at once leave one row and no error.
    try:
        with db.begin_nested():
            policy = AttendancePolicy(
                job_centre_id=job_centre_id, weekdays=DEFAULT_WEEKDAYS,
                window_start=DEFAULT_WINDOW_START, window_end=DEFAULT_WINDOW_END,
                grace_minutes=15, streak_limit=2, window_limit=3, window_days=10,
                alert_resend_minutes=60, alert_delay_minutes=DEFAULT_ALERT_DELAY,
                absence_reasons=",".join(r.value for r in ALL_REASONS), digest_time=time(8, 0),
                location_rule=LocationRule.OFF, accept_location_pin=False, radius_m=200,
                code_step_seconds=60,
                code_secret=new_secret(), created_at=now, updated_at=now,
            )
            db.add(policy)
            db.flush()
    except Exception:
        policy = db.scalar(query)
        if policy is None:
            raise
    return policy


@dataclass(frozen=True)
class Day:
    """One local day at a job centre, as the attendance rules see it."""

    day: date
    zone: ZoneInfo
    is_attendance_day: bool
    opens: datetime
    closes: datetime
    # Window end plus grace: check-ins stop, absences are detected.
    cutoff: datetime

    def phase(self, now: datetime) -> str:
        """"closed" (no check-in this day), "before", "open", "grace" or "after"."""
        if not self.is_attendance_day:
            return "closed"
        if now < self.opens:
            return "before"
        if now <= self.closes:
            return "open"
        if now <= self.cutoff:
            return "grace"
        return "after"


def reasons_of(policy: AttendancePolicy) -> list[AbsenceReason]:
    """The absence reasons the centre offers, in the usual order; "other" always, so
    anyone can say why."""
    chosen = set((policy.absence_reasons or "").split(","))
    return [r for r in ALL_REASONS if r.value in chosen or r == AbsenceReason.OTHER]


def parse_reasons(value: Any) -> str:
    """Reasons as stored, from a list of values or a comma/space separated text."""
    items = value if isinstance(value, list | tuple) else str(value).replace(",", " ").split()
    known = {r.value for r in ALL_REASONS}
    chosen = {str(getattr(item, "value", item)).strip().lower() for item in items}
    unknown = sorted(chosen - known)
    if unknown:
        raise DomainError(N_("Unknown absence reason: {name}. The reasons are: {reasons}."),
                          name=unknown[0], reasons=", ".join(sorted(known)))
    chosen.add(AbsenceReason.OTHER.value)
    return ",".join(r.value for r in ALL_REASONS if r.value in chosen)


def zone_of(centre: JobCentre) -> ZoneInfo:
    return ZoneInfo(centre.timezone)


def day_at(policy: AttendancePolicy, calendar: WorkCalendar, zone: ZoneInfo, day: date) -> Day:
    opens = at_local(day, policy.window_start, zone)
    closes = at_local(day, policy.window_end, zone)
    return Day(day=day, zone=zone, is_attendance_day=is_attendance_day(policy, calendar, day),
               opens=opens, closes=closes,
               cutoff=closes + timedelta(minutes=policy.grace_minutes))


def today_at(db: Session, centre: JobCentre, now: datetime) -> tuple[AttendancePolicy, Day]:
    policy = policy_for(db, now, centre.id)
    zone = zone_of(centre)
    calendar = calendar_for(db, centre.id)
    return policy, day_at(policy, calendar, zone, local_date(now, zone))


def attendance_days_back(policy: AttendancePolicy, calendar: WorkCalendar, last: date,
                         count: int) -> list[date]:
    """The ``count`` attendance days up to and including ``last``, newest first."""
    days: list[date] = []
    day = last
    # A year back is far more than any rule needs, and stops a policy with no days.
    for _ in range(366):
        if len(days) >= count:
            break
        if is_attendance_day(policy, calendar, day):
            days.append(day)
        day -= timedelta(days=1)
    return days


# --- admins change the policy ----------------------------------------------------------
_INT_LIMITS: dict[str, tuple[int, int]] = {
    "grace_minutes": (0, 240),
    "streak_limit": (0, 30),
    "window_limit": (0, 60),
    "window_days": (1, 60),
    "alert_resend_minutes": (5, 24 * 60),
    # Ask first: how long the coach's alert waits for the aspirant's answer (0: no wait).
    "alert_delay_minutes": (0, 240),
    "radius_m": (20, 5000),
    "code_step_seconds": (15, MAX_STEP_SECONDS),
}


def update(db: Session, now: datetime, centre: JobCentre, *, actor: Person | None,
           **changes: Any) -> AttendancePolicy:
    """Validate every change first; a bad value changes nothing."""
    policy = policy_for(db, now, centre.id)
    values = {
        "weekdays": policy.weekdays, "window_start": policy.window_start,
        "window_end": policy.window_end, "digest_time": policy.digest_time,
        "location_rule": policy.location_rule,
        "accept_location_pin": policy.accept_location_pin,
        "absence_reasons": policy.absence_reasons,
        **{name: getattr(policy, name) for name in _INT_LIMITS},
    }
    for name, value in changes.items():
        if name not in values and name != "rotate_secret":
            raise DomainError(N_("Unknown attendance setting: {name}"), name=name)
        if name in _INT_LIMITS:
            low, high = _INT_LIMITS[name]
            if not isinstance(value, int) or not low <= value <= high:
                raise DomainError(N_("{name} must be a whole number from {low} to {high}."),
                                  name=name, low=low, high=high)
        elif name == "weekdays":
            if not value or any(c not in "1234567" for c in str(value)):
                raise DomainError(N_("Weekdays are digits 1 (Monday) to 7 (Sunday), e.g. 12345."))
            value = "".join(sorted(set(str(value))))
        elif name in ("window_start", "window_end", "digest_time"):
            if not isinstance(value, time) and not (name == "digest_time" and value is None):
                raise DomainError(N_("Give times as HH:MM."))
        elif name == "accept_location_pin":
            if not isinstance(value, bool):
                raise DomainError(N_("Location pins count: on or off."))
        elif name == "absence_reasons":
            value = parse_reasons(value)
        elif name == "location_rule":
            try:
                value = LocationRule(value)
            except ValueError:
                raise DomainError(N_("The location rule is one of: off, alternative, required.")
                                  ) from None
        if name != "rotate_secret":
            values[name] = value
    if values["window_start"] >= values["window_end"]:
        raise DomainError(N_("The check-in window must end after it starts."))
    if values["location_rule"] != LocationRule.OFF and centre.latitude is None:
        raise DomainError(N_("The job centre has no coordinates, so locations cannot be checked."))
    for name, value in values.items():
        setattr(policy, name, value)
    if changes.get("rotate_secret"):
        policy.code_secret = new_secret()
    policy.updated_at = now
    policy.version += 1
    db.flush()
    changed = sorted(k for k in changes if k != "rotate_secret")
    audit.record(db, now, "attendance.policy", actor=actor, subject=policy, changed=changed,
                 rotated=bool(changes.get("rotate_secret")))
    if {"weekdays", "window_start", "window_end"} & set(changed):
        # Check-in reminders are timed from the window.
        reminders.refresh_centre(db, now, centre.id, kinds={EventKind.CHECK_IN},
                                 reason="policy_changed")
    return policy


def describe(policy: AttendancePolicy) -> dict[str, str]:
    """The policy as plain values (command line, configuration export)."""
    return {
        "weekdays": policy.weekdays,
        "window": f"{policy.window_start:%H:%M}-{policy.window_end:%H:%M}",
        "grace_minutes": str(policy.grace_minutes),
        "streak_limit": str(policy.streak_limit),
        "window_limit": f"{policy.window_limit} in {policy.window_days} attendance days",
        "alert_resend_minutes": str(policy.alert_resend_minutes),
        "alert_delay_minutes": str(policy.alert_delay_minutes),
        "absence_reasons": ", ".join(r.value for r in reasons_of(policy)),
        "digest_time": f"{policy.digest_time:%H:%M}" if policy.digest_time else "off",
        "location_rule": policy.location_rule.value,
        "accept_location_pin": "on" if policy.accept_location_pin else "off",
        "radius_m": str(policy.radius_m),
        "code_step_seconds": str(policy.code_step_seconds),
    }
