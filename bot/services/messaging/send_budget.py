"""The shared sending budget in the database: slots reserved by every instance in turn.

A virtual schedule (the "generic cell rate algorithm"): ``next_slot`` is the earliest
real time the next message may go out; reserving ``count`` slots moves it on by
``count`` intervals. Instances reserve a few slots at a time, so the whole bot keeps
to the rate however many instances send, and an idle instance takes no share.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.models import SendBudget
from bot.services.messaging.claims import real_now

TELEGRAM = "telegram"


def reserve(db: Session, count: int, interval: float, *, name: str = TELEGRAM
            ) -> tuple[float, float]:
    """Reserve ``count`` slots ``interval`` seconds apart; returns the first slot's real time
    and the real time now (both on the database's clock)."""
    real = real_now(db)
    start = _latest(db, SendBudget.next_slot, SendBudget.held_until, real)
    first = db.scalar(
        update(SendBudget).where(SendBudget.name == name)
        .values(next_slot=start + count * interval)
        .returning(SendBudget.next_slot - count * interval)
    )
    if first is None:
        db.add(SendBudget(name=name, next_slot=real + count * interval, held_until=0.0))
        db.flush()
        first = real
    return float(first), real


def hold_off(db: Session, seconds: float, *, name: str = TELEGRAM) -> float:
    """Telegram asked to wait: no instance sends before ``seconds`` from now."""
    real = real_now(db)
    until = real + seconds
    db.execute(update(SendBudget).where(SendBudget.name == name).values(
        held_until=_latest(db, SendBudget.held_until, until),
        next_slot=_latest(db, SendBudget.next_slot, until)))
    return until


def state(db: Session, *, name: str = TELEGRAM) -> tuple[float, float, float] | None:
    """(next slot, held until, now) in real time, for ``jobbot outbox status``."""
    row = db.execute(select(SendBudget.next_slot, SendBudget.held_until)
                     .where(SendBudget.name == name)).first()
    if row is None:
        return None
    return float(row.next_slot), float(row.held_until), real_now(db)


def _latest(db: Session, *values):  # type: ignore[no-untyped-def]
    # GREATEST on PostgreSQL; SQLite's max() with several arguments is the same.
    if db.get_bind().dialect.name == "postgresql":
        return func.greatest(*values)
    return func.max(*values)
