"""Making the outbox agree with what the rules want, for many events at once.

For every event the rows still wanted stay (updated in place if their words or expiry
changed), rows no longer wanted are cancelled with a reason, missing ones are added, and
a reminder skipped for quiet hours or a merge comes back if it is wanted again. The
same decisions the planner always made, taken set-wise: one statement reads the
existing rows of all the events, one cancels, one updates, one inserts. Running it
twice changes nothing; the unique dedupe key per (event, rule, recipient, time) keeps
two instances from adding the same row (the second insert does nothing).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from bot.i18n import encode_param
from bot.models import EventKind, OutboxMessage, OutboxStatus
from bot.services.reminders.arithmetic import KIND_PREFIX, Planned
from bot.services.reminders.events import among, read

# Skips the planner decided itself, undone when the reminder is wanted again.
_PLANNER_SKIPS = ("quiet_hours", "merged")
# Keys per read: well under every driver's limit on bound parameters.
_KEYS_PER_READ = 1000

_table = OutboxMessage.__table__
# The parameters are read as text and decoded only for a row kept with the same words and
# expiry: after a rule change most rows are cancelled, and decoding them would be wasted.
_EXISTING = (OutboxMessage.id, OutboxMessage.event_key, OutboxMessage.rule_id,
             OutboxMessage.recipient_id, OutboxMessage.due_at, OutboxMessage.status,
             OutboxMessage.skip_reason, OutboxMessage.template,
             cast(OutboxMessage.params, Text).label("params_text"), OutboxMessage.expires_at)


@dataclass
class EventPlan:
    """An event and every reminder the rules want for it now (maybe none)."""

    key: str
    kind: EventKind
    planned: list[Planned]


@dataclass
class SyncCounts:
    events: int = 0
    created: int = 0  # new rows that will be sent (not counting those stored as skipped)
    cancelled: int = 0
    updated: int = 0  # rows kept, with new words, expiry or skip, or wanted again

    def add(self, other: SyncCounts) -> None:
        self.events += other.events
        self.created += other.created
        self.cancelled += other.cancelled
        self.updated += other.updated


@dataclass
class _Changes:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    cancels: list[int] = field(default_factory=list)


def sync(db: Session, now: datetime, plans: Sequence[EventPlan], reason: str) -> SyncCounts:
    """Make the outbox rows of these events agree with their plans."""
    counts = SyncCounts(events=len(plans))
    if not plans:
        return counts
    existing = _existing(db, [plan.key for plan in plans])
    changes = _Changes()
    for plan in plans:
        _decide(now, plan, existing.get(plan.key, []), changes)
    if changes.cancels:
        cancel = update(_table).where(among(db, _table.c.id, changes.cancels))
        if db.get_bind().dialect.name == "postgresql":
            # A sender may have claimed a row since it was read: that one goes out. (SQLite
            # has one writer, and refuses a write on a read that is out of date, and the
            # guard would lead its planner to walk every pending row instead of the ids.)
            cancel = cancel.where(_table.c.status == OutboxStatus.PENDING)
        # The key is free again, so the same reminder can be planned anew.
        db.execute(cancel.values(status=OutboxStatus.CANCELLED, skip_reason=reason[:40],
                                 dedupe_key=None))
        counts.cancelled = len(changes.cancels)
    if changes.updates:
        db.execute(update(_table).where(_table.c.id == bindparam("row_id")).values(
            status=bindparam("new_status"), skip_reason=bindparam("new_skip"),
            template=bindparam("new_template"), params=bindparam("new_params"),
            expires_at=bindparam("new_expires")), changes.updates)
        counts.updated = len(changes.updates)
    if changes.inserts:
        counts.created = _insert(db, changes.inserts)
    if changes.inserts or changes.updates:
        # Lets the caller's edge wake the dispatcher once the transaction is committed.
        db.info["outbox_queued"] = True
    _expire_loaded(db, changes.cancels + [row["row_id"] for row in changes.updates])
    return counts


def _existing(db: Session, keys: list[str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = defaultdict(list)
    for start in range(0, len(keys), _KEYS_PER_READ):
        for row in read(db, select(*_EXISTING).where(
                among(db, OutboxMessage.event_key, keys[start:start + _KEYS_PER_READ]),
                OutboxMessage.status != OutboxStatus.CANCELLED)):
            found[row.event_key].append(row)
    return found


def _decide(now: datetime, plan: EventPlan, existing: list[Any], changes: _Changes) -> None:
    by_key = {(row.rule_id, row.recipient_id, row.due_at): row for row in existing
              if row.rule_id is not None}
    wanted = set()
    for item in plan.planned:
        wanted.add(item.key)
        params = {key: encode_param(value) for key, value in item.params.items()}
        row = by_key.get(item.key)
        if row is None:
            if item.due_at < now:
                continue  # its moment passed before the event was known or changed
            changes.inserts.append(_new_row(now, plan, item, params))
        elif row.status == OutboxStatus.PENDING:
            status = OutboxStatus.SKIPPED if item.skip_reason is not None else row.status
            skip = item.skip_reason if item.skip_reason is not None else row.skip_reason
            if (row.template, row.expires_at, row.status, row.skip_reason) != (
                    item.template, item.expires_at, status, skip) or \
                    json.loads(row.params_text or "{}") != params:
                changes.updates.append(_update(row.id, item, params, status, skip))
        elif (row.status == OutboxStatus.SKIPPED and item.skip_reason is None
              and row.skip_reason in _PLANNER_SKIPS and row.due_at >= now):
            # Skipped when planned, wanted again now (e.g. quiet hours were shortened).
            changes.updates.append(_update(row.id, item, params, OutboxStatus.PENDING, None))
    for row in existing:
        if (row.status == OutboxStatus.PENDING
                and (row.rule_id, row.recipient_id, row.due_at) not in wanted):
            changes.cancels.append(row.id)


def _update(row_id: int, item: Planned, params: dict[str, Any], status: OutboxStatus,
            skip: str | None) -> dict[str, Any]:
    return {"row_id": row_id, "new_status": status, "new_skip": skip,
            "new_template": item.template, "new_params": params,
            "new_expires": item.expires_at}


def _new_row(now: datetime, plan: EventPlan, item: Planned, params: dict[str, Any]
             ) -> dict[str, Any]:
    dedupe = (f"{plan.key}:{item.rule.id}:{item.recipient.id}:"
              f"{item.due_at.astimezone(UTC):%Y%m%d%H%M}")
    return {
        "recipient_id": item.recipient.id, "chat_id": None, "priority": 0,
        "kind": KIND_PREFIX + plan.kind.value, "template": item.template, "params": params,
        "rule_id": item.rule.id, "event_key": plan.key, "dedupe_key": dedupe,
        "due_at": item.due_at, "expires_at": item.expires_at,
        "status": OutboxStatus.SKIPPED if item.skip_reason is not None
        else OutboxStatus.PENDING,
        "skip_reason": item.skip_reason, "attempts": 0, "created_at": now,
    }


def _insert(db: Session, rows: list[dict[str, Any]]) -> int:
    """Insert, leaving out a row another instance has just added; returns the pending rows
    meant (one another instance added first is counted too: counts are for the log)."""
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert(_table) if dialect == "postgresql" else sqlite.insert(_table)
    statement = insert.on_conflict_do_nothing(index_elements=[_table.c.dedupe_key])
    # No RETURNING: then the driver's own executemany runs one short prepared statement
    # for every row, instead of one long statement that it must parse afresh each time.
    db.execute(statement, rows)
    return sum(1 for row in rows if row["status"] == OutboxStatus.PENDING)


def _expire_loaded(db: Session, row_ids: list[int]) -> None:
    """Rows this session holds as objects are read again when used (a chat action that
    re-plans and then shows the rows sees what was written)."""
    if not row_ids or not len(db.identity_map):
        return
    for row_id in row_ids:
        loaded = db.identity_map.get(identity_key(OutboxMessage, row_id))
        if loaded is not None:
            db.expire(loaded)
