"""Fixed-window attempt counters kept in the database, shared by every instance."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Throttle


def too_many(db: Session, now: datetime, key: str, *, limit: int, window: timedelta) -> bool:
    """True if ``key`` already used up its ``limit`` attempts in the current window."""
    row = db.scalar(select(Throttle).where(Throttle.key == key))
    return row is not None and now - row.window_started_at < window and row.count >= limit


def count_attempt(db: Session, now: datetime, key: str, *, window: timedelta) -> int:
    """Count one more attempt for ``key``; returns the count in the current window."""
    row = db.scalar(select(Throttle).where(Throttle.key == key).with_for_update())
    if row is None:
        row = Throttle(key=key, window_started_at=now, count=0)
        db.add(row)
    elif now - row.window_started_at >= window:
        row.window_started_at = now
        row.count = 0
    row.count += 1
    db.flush()
    return row.count


def clear(db: Session, key: str) -> None:
    row = db.scalar(select(Throttle).where(Throttle.key == key))
    if row is not None:
        db.delete(row)
