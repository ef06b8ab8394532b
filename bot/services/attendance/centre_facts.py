"""What a check-in reads about a job centre, kept in memory between check-ins.

A centre's attendance policy, working calendar, time zone and place change a few
times a year, and every check-in needs them. Each process keeps a copy per centre,
tagged with the policy's ``version`` (bot/services/centres/versions.py); the check-in
reads the current version along with the person in the same statement, and a copy
with another version is read anew. So a change made on any instance is seen by the
next check-in everywhere, and the copy costs no statement at all otherwise.
"""

from __future__ import annotations

import threading
import time as monotonic
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar, local_date
from bot.models import AttendancePolicy, JobCentre, LocationRule
from bot.services.attendance import policy as attendance_policy
from bot.services.attendance.policy import Day
from bot.services.centres.calendars import calendar_for

# A copy is read anew after this long even if no version change was seen (a safety net
# for changes made outside the services, e.g. by hand in the database).
MAX_AGE_SECONDS = 300.0
# Centres kept per database; a city has a handful.
MAX_CENTRES = 256


@dataclass(frozen=True)
class CentreFacts:
    centre_id: int
    name: str
    latitude: float | None
    longitude: float | None
    zone: ZoneInfo
    policy: AttendancePolicy  # detached copy: read-only
    calendar: WorkCalendar
    version: int
    # Days already worked out (the facts are immutable, so they stay right).
    _days: dict[date, Day] = field(default_factory=dict, compare=False, repr=False)

    def day(self, day: date) -> Day:
        known = self._days.get(day)
        if known is None:
            known = attendance_policy.day_at(self.policy, self.calendar, self.zone, day)
            if len(self._days) > 64:
                self._days.clear()
            self._days[day] = known
        return known

    def today(self, now: datetime) -> Day:
        return self.day(local_date(now, self.zone))

    @property
    def location_rule(self) -> LocationRule:
        if self.latitude is None or self.longitude is None:
            return LocationRule.OFF
        return self.policy.location_rule


@dataclass
class _Entry:
    facts: CentreFacts
    loaded_at: float


_lock = threading.Lock()
_caches: weakref.WeakKeyDictionary[Engine, dict[int, _Entry]] = weakref.WeakKeyDictionary()


def facts(db: Session, now: datetime, centre_id: int, version: int | None) -> CentreFacts:
    """The centre's facts; ``version`` is the policy version just read (None: unknown,
    read the facts anew)."""
    bind = db.get_bind()
    # One cache per database: a session may be bound to one of its connections (SQLite's
    # grouped units of work are), which lives only as long as its group.
    engine = bind.engine if isinstance(bind, Connection) else bind
    with _lock:
        cache = _caches.setdefault(engine, {})  # type: ignore[arg-type]
        entry = cache.get(centre_id)
    fresh = (entry is not None and version is not None and entry.facts.version == version
             and monotonic.monotonic() - entry.loaded_at < MAX_AGE_SECONDS)
    if fresh:
        assert entry is not None
        return entry.facts
    loaded = _load(db, now, centre_id)
    with _lock:
        if len(cache) >= MAX_CENTRES:
            cache.clear()
        cache[centre_id] = _Entry(loaded, monotonic.monotonic())
    return loaded


def _load(db: Session, now: datetime, centre_id: int) -> CentreFacts:
    policy = attendance_policy.policy_for(db, now, centre_id)
    centre = db.get(JobCentre, centre_id)
    assert centre is not None
    copy = _detached(policy)
    return CentreFacts(centre_id=centre.id, name=centre.name, latitude=centre.latitude,
                       longitude=centre.longitude, zone=ZoneInfo(centre.timezone),
                       policy=copy, calendar=calendar_for(db, centre_id),
                       version=policy.version)


def _detached(policy: AttendancePolicy) -> AttendancePolicy:
    """A plain copy of the policy's values, not tied to any session."""
    columns: dict[str, Any] = {column.key: getattr(policy, column.key)
                               for column in AttendancePolicy.__table__.columns}
    return AttendancePolicy(**columns)


def version_of(db: Session, centre_id: int) -> int | None:
    return db.scalar(select(AttendancePolicy.version)
                     .where(AttendancePolicy.job_centre_id == centre_id))

