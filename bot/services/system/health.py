"""What an operator asks of a running instance: is the database there and up to date,
and how deep is the outbox. Counts only: no person, no text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.models import OutboxMessage, OutboxStatus


def schema_revisions(db: Session) -> set[str]:
    """The migrations the database is at (one round trip proves it is reachable)."""
    db.execute(text("SELECT 1"))
    return set(MigrationContext.configure(db.connection()).get_current_heads())


@dataclass(frozen=True)
class OutboxDepth:
    by_state: dict[str, int]
    # How long the oldest row that is due and still waiting has been due (0: none).
    oldest_due_seconds: float


def outbox_depth(db: Session, now: datetime) -> OutboxDepth:
    counts = {state.value: 0 for state in OutboxStatus}
    for state, count in db.execute(select(OutboxMessage.status, func.count(OutboxMessage.id))
                                   .group_by(OutboxMessage.status)):
        counts[OutboxStatus(state).value] = int(count)
    oldest = db.scalar(select(func.min(OutboxMessage.due_at)).where(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now))
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    lateness = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return OutboxDepth(counts, lateness)
