"""Durable re-planning requests: recorded with a change, planned later in chunks.

A change that touches many reminders records a request in its own transaction, so the
request exists exactly when the change does. Any running instance may then claim it
with a lease (in real time, renewed with every chunk) and plan it a chunk per unit of
work, keeping its place in the row; a crash or a restart leaves the row to be resumed
once the lease has run out, and a clean stop hands it back at once. A newer change of
the same centre joins the open request and starts its pass over, so a pass never
finishes on facts older than the last change.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.models import EventKind, ReplanRequest
from bot.services.reminders import bulk
from bot.services.reminders.outbox_sync import SyncCounts

# An instance that has not renewed its claim for this long (real time) is taken to be gone.
LEASE = timedelta(seconds=60)
# Set on the session that recorded a request: its commit may start the work at once.
RECORDED = "replan_recorded"


def worker_name() -> str:
    """Tells instances apart in claims (host, process, and a random part)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _encode(kinds: frozenset[EventKind]) -> str:
    return ",".join(sorted(kind.value for kind in kinds))


def _decode(kinds: str) -> frozenset[EventKind]:
    return frozenset(EventKind(value) for value in kinds.split(",") if value)


def scope_of(request: ReplanRequest) -> bulk.Scope:
    return bulk.Scope(request.job_centre_id, _decode(request.kinds))


def record(db: Session, now: datetime, scope: bulk.Scope, reason: str, *,
           restart: bool = True) -> ReplanRequest | None:
    """Ask for the scope to be planned again (in this transaction).

    An open request for the same centre takes the new kinds in; with ``restart`` (a change
    happened) its pass starts over with this reason. ``restart=False`` is for the periodic
    horizon: a pass already under way will plan with the current time anyway.
    """
    start = bulk.first_position(scope)
    if start is None:
        return None
    same_centre = (ReplanRequest.job_centre_id.is_(None) if scope.centre_id is None
                   else ReplanRequest.job_centre_id == scope.centre_id)
    # Locked (PostgreSQL), so a pass that ends meanwhile either sees the newer change (its
    # guarded delete then leaves the request) or is over before this reads (a new request).
    request = db.scalar(select(ReplanRequest).where(same_centre).order_by(ReplanRequest.id)
                        .limit(1).with_for_update())
    if request is None:
        request = ReplanRequest(job_centre_id=scope.centre_id, kinds=_encode(scope.kinds),
                                reason=reason[:40], requested_at=now, generation=0,
                                phase=start.phase, after_id=0)
        db.add(request)
    else:
        kinds = _decode(request.kinds) | scope.kinds
        if restart or kinds != _decode(request.kinds):
            joined = bulk.first_position(bulk.Scope(scope.centre_id, kinds))
            assert joined is not None
            request.kinds = _encode(kinds)
            request.reason = reason[:40]
            request.requested_at = now
            request.generation += 1
            request.phase, request.after_id = joined.phase, 0
    db.flush()
    db.info[RECORDED] = True
    return request


def recorded_in(db: Session) -> bool:
    """Whether this session recorded a request (read before the session closes)."""
    return bool(db.info.get(RECORDED))


def claim(db: Session, worker: str, real_now: datetime) -> int | None:
    """Claim the oldest request nobody works on (or whose worker's lease ran out)."""
    free = or_(ReplanRequest.claimed_by.is_(None), ReplanRequest.lease_until < real_now)
    for request_id in db.scalars(select(ReplanRequest.id).where(free)
                                 .order_by(ReplanRequest.id).limit(5)):
        taken = db.execute(update(ReplanRequest)
                           .where(ReplanRequest.id == request_id, free)
                           .values(claimed_by=worker, lease_until=real_now + LEASE)
                           .execution_options(synchronize_session=False))
        if taken.rowcount == 1:
            return request_id
    return None


@dataclass
class Step:
    """What one chunk of a claimed request did."""

    done: bool = False  # the pass is over and the request deleted
    lost: bool = False  # another instance holds the request now (our lease ran out)
    counts: SyncCounts = field(default_factory=SyncCounts)


def advance(db: Session, now: datetime, request_id: int, worker: str, real_now: datetime, *,
            size: int = bulk.CHUNK) -> Step:
    """Plan the next chunk of a request this worker has claimed, and note the progress."""
    request = db.get(ReplanRequest, request_id, populate_existing=True)
    if request is None or request.claimed_by != worker:
        return Step(lost=True)
    generation = request.generation
    position, counts = bulk.plan_chunk(db, now, scope_of(request),
                                       bulk.Position(request.phase, request.after_id),
                                       request.reason, size=size)
    # Guarded by the generation: if a newer change joined the request meanwhile, its reset
    # stands and the next step starts the pass over.
    mine = (ReplanRequest.id == request_id, ReplanRequest.claimed_by == worker,
            ReplanRequest.generation == generation)
    if position is None:
        finished = db.execute(delete(ReplanRequest).where(*mine)
                              .execution_options(synchronize_session=False))
        return Step(done=finished.rowcount == 1, counts=counts)
    db.execute(update(ReplanRequest).where(*mine)
               .values(phase=position.phase, after_id=position.after_id,
                       lease_until=real_now + LEASE)
               .execution_options(synchronize_session=False))
    return Step(counts=counts)


def release(db: Session, request_id: int, worker: str) -> None:
    """Hand a request back (a clean stop): another instance may go on at once."""
    db.execute(update(ReplanRequest)
               .where(ReplanRequest.id == request_id, ReplanRequest.claimed_by == worker)
               .values(claimed_by=None, lease_until=None)
               .execution_options(synchronize_session=False))


def open_requests(db: Session) -> int:
    return db.scalar(select(func.count(ReplanRequest.id))) or 0
