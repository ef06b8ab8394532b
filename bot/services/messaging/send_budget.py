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
    move = (update(SendBudget).where(SendBudget.name == name)
            .values(next_slot=start + count * interval)
            .returning(SendBudget.next_slot - count * interval))
    first = db.scalar(move)
    if first is None:  # the row is missing (emptied tables): the first instance adds it
        _add(db, name)
        first = db.scalar(move)
    return float(first), real


def _add(db: Session, name: str) -> None:
    """The budget's row, unless another instance has just added it."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.execute(insert(SendBudget).values(name=name, next_slot=0.0, held_until=0.0)
               .on_conflict_do_nothing(index_elements=["name"]))


def hold_off(db: Session, seconds: float, *, name: str = TELEGRAM) -> float:
    """Telegram asked to wait: no instance sends before ``seconds`` from now."""
    real = real_now(db)
    until = real + seconds
    _add(db, name)
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
