"""Planning many events in chunks: a centre (or the city) after a rule, setting, policy or
calendar change, and the hourly check-in horizon.

A pass walks two phases in id order — the bookings on upcoming information sessions,
then the open enrolments (their check-in days and plan milestones) — a chunk at a time.
Each chunk reads its events in one statement, plans them in memory with the planner's
arithmetic and writes the differences in a few statements (``outbox_sync.py``). A chunk
is small enough to be its own short unit of work, so a pass can run beside the chats
and stop or resume between chunks (``replan_requests.py`` keeps its place).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from bot.models import Booking, BookingStatus, Enrolment, EventKind, PlanMilestone
from bot.services.reminders import events
from bot.services.reminders.arithmetic import (
    MILESTONE_EVENT,
    Planner,
    booking_key,
    check_in_key,
    milestone_key,
)
from bot.services.reminders.outbox_sync import EventPlan, SyncCounts, sync

# Enrolments (or bookings) per chunk: a chunk takes some 40-50 ms on SQLite, which has
# one writer, so a check-in waiting behind it is still answered at once.
CHUNK = 200

BOOKINGS = "bookings"
ENROLMENTS = "enrolments"
PHASES = (BOOKINGS, ENROLMENTS)
MILESTONE_KINDS = {event: kind for kind, event in MILESTONE_EVENT.items()}


@dataclass(frozen=True)
class Scope:
    """Which reminders a pass plans: a centre's (None: every centre), of these event kinds."""

    centre_id: int | None
    kinds: frozenset[EventKind]

    @classmethod
    def of(cls, centre_id: int | None, kinds: Iterable[EventKind] | None = None) -> Scope:
        return cls(centre_id, frozenset(kinds) if kinds is not None else frozenset(EventKind))

    @property
    def phases(self) -> tuple[str, ...]:
        wanted = []
        if EventKind.INFO_SESSION in self.kinds:
            wanted.append(BOOKINGS)
        if self.kinds - {EventKind.INFO_SESSION}:
            wanted.append(ENROLMENTS)
        return tuple(wanted)

    @property
    def check_ins_only(self) -> bool:
        return self.kinds == {EventKind.CHECK_IN}


@dataclass(frozen=True)
class Position:
    """Where a pass stands: its phase and the last id planned in it."""

    phase: str
    after_id: int = 0


def first_position(scope: Scope) -> Position | None:
    return Position(scope.phases[0]) if scope.phases else None


def plan_chunk(db: Session, now: datetime, scope: Scope, position: Position, reason: str, *,
               size: int = CHUNK) -> tuple[Position | None, SyncCounts]:
    """Plan the next chunk of the pass; returns where the pass stands after it (None: done)."""
    planner = Planner(db, now)
    if position.phase == BOOKINGS:
        bookings = events.bookings(
            db, events.among(db, Booking.info_session_id,
                             events.upcoming_session_ids(db, now, scope.centre_id)),
            Booking.status == BookingStatus.BOOKED, after=position.after_id, limit=size)
        plans = plan_bookings(db, planner, bookings)
        ids = [booking.id for booking in bookings]
    else:
        enrolments = events.enrolments(db, *_open_enrolments(scope), after=position.after_id,
                                       limit=size)
        plans = plan_enrolments(db, planner, enrolments, scope.kinds)
        ids = [enrolment.id for enrolment in enrolments]
    counts = sync(db, now, plans, reason)
    if len(ids) == size:
        return Position(position.phase, ids[-1]), counts
    later = scope.phases[scope.phases.index(position.phase) + 1:]
    return (Position(later[0]) if later else None), counts


def plan_all(db: Session, now: datetime, scope: Scope, reason: str, *,
             size: int = CHUNK) -> SyncCounts:
    """The whole pass in this unit of work (small scopes, tests and command-line tools)."""
    total = SyncCounts()
    position = first_position(scope)
    while position is not None:
        position, counts = plan_chunk(db, now, scope, position, reason, size=size)
        total.add(counts)
    return total


def is_small(db: Session, now: datetime, scope: Scope, limit: int) -> bool:
    """Whether the scope holds at most ``limit`` bookings and enrolments (counted no further
    than that, so the answer is cheap for a whole city too)."""
    found = 0
    if BOOKINGS in scope.phases:
        sessions = events.upcoming_session_ids(db, now, scope.centre_id)
        found += _count_upto(db, select(Booking.id).where(
            events.among(db, Booking.info_session_id, sessions),
            Booking.status == BookingStatus.BOOKED),
            limit + 1)
    if ENROLMENTS in scope.phases and found <= limit:
        found += _count_upto(db, select(Enrolment.id).where(*_open_enrolments(scope)),
                             limit + 1 - found)
    return found <= limit


def _count_upto(db: Session, query: Select[Any], limit: int) -> int:
    return db.scalar(select(func.count()).select_from(query.limit(limit).subquery())) or 0


def _open_enrolments(scope: Scope) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Enrolment.left_at.is_(None)]
    if scope.centre_id is not None:
        where.append(Enrolment.job_centre_id == scope.centre_id)
    if scope.check_ins_only:
        where.append(Enrolment.attendance_required.is_(True))
    return where


# --- events to plans (also used for one booking, milestone or enrolment) --------------------
def plan_bookings(db: Session, planner: Planner, bookings: list[events.BookingFacts]
                  ) -> list[EventPlan]:
    planner.preload({booking.centre_id for booking in bookings})
    enrolments = events.current_enrolments(db, (b.aspirant_id for b in bookings if b.live))
    return [EventPlan(booking_key(booking.id), EventKind.INFO_SESSION,
                      planner.booking(booking, enrolments.get((booking.aspirant_id,
                                                               booking.centre_id))))
            for booking in bookings]


def plan_milestones(planner: Planner, milestones: list[events.MilestoneFacts]
                    ) -> list[EventPlan]:
    planner.preload({m.enrolment.centre_id for m in milestones})
    return [EventPlan(milestone_key(m.id), MILESTONE_EVENT[m.kind], planner.milestone(m))
            for m in milestones]


def plan_check_ins(db: Session, planner: Planner, enrolments: list[events.EnrolmentFacts]
                   ) -> list[EventPlan]:
    """Each enrolment's check-in days within the horizon (today and the next days)."""
    planner.preload({e.centre_id for e in enrolments})
    days = {e.id: planner.check_in_days(e.centre_id) for e in enrolments}
    all_days = [day for horizon in days.values() for day in horizon]
    recorded = events.recorded_days(
        db, [e.id for e in enrolments if e.attendance_required and e.open],
        min(all_days), max(all_days)) if all_days else set()
    return [EventPlan(check_in_key(e.id, day), EventKind.CHECK_IN,
                      planner.check_in(e, day, (e.id, day) in recorded))
            for e in enrolments for day in days[e.id]]


def plan_enrolments(db: Session, planner: Planner, enrolments: list[events.EnrolmentFacts],
                    kinds: frozenset[EventKind]) -> list[EventPlan]:
    """Check-ins (of those with a requirement) and open milestones of these enrolments."""
    plans = []
    milestone_kinds = [MILESTONE_KINDS[kind] for kind in kinds if kind in MILESTONE_KINDS]
    if milestone_kinds and enrolments:
        plans += plan_milestones(planner, events.milestones(
            db, events.among(db, PlanMilestone.enrolment_id, [e.id for e in enrolments]),
            PlanMilestone.kind.in_(milestone_kinds), PlanMilestone.done_at.is_(None),
            PlanMilestone.cancelled_at.is_(None)))
    if EventKind.CHECK_IN in kinds:
        plans += plan_check_ins(db, planner, [e for e in enrolments if e.attendance_required])
    return plans
