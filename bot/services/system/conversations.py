"""Conversation state: which step of which flow a chat is in, kept in the database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.models import ConversationState

# A conversation left alone this long is forgotten (and its pre-consent data with it).
IDLE_LIMIT = timedelta(days=2)


def changed_in(db: Session) -> bool:
    """Whether this unit of work began, advanced or finished a conversation."""
    return bool(db.info.get("conversation_changed"))


def _changed(db: Session) -> None:
    db.info["conversation_changed"] = True


def current(db: Session, now: datetime, user_id: int, chat_id: int) -> ConversationState | None:
    state = db.scalar(
        select(ConversationState).where(
            ConversationState.telegram_user_id == user_id,
            ConversationState.chat_id == chat_id,
        )
    )
    if state is not None and state.expires_at <= now:
        db.delete(state)
        db.flush()
        _changed(db)
        return None
    return state


def begin(
    db: Session,
    now: datetime,
    user_id: int,
    chat_id: int,
    flow: str,
    step: str,
    data: dict[str, Any] | None = None,
) -> ConversationState:
    """Start ``flow`` at ``step``, replacing whatever conversation the chat was in."""
    state = current(db, now, user_id, chat_id)
    if state is None:
        state = ConversationState(telegram_user_id=user_id, chat_id=chat_id)
        db.add(state)
    state.flow = flow
    state.step = step
    state.data = dict(data or {})
    _touch(state, now)
    db.flush()
    _changed(db)
    return state


def advance(
    db: Session, now: datetime, state: ConversationState, step: str, **data: Any
) -> ConversationState:
    state.step = step
    # Reassign so SQLAlchemy sees the change to the JSON column.
    state.data = {**state.data, **data}
    _touch(state, now)
    db.flush()
    return state


def finish(db: Session, state: ConversationState | None) -> None:
    if state is not None:
        db.delete(state)
        db.flush()
        _changed(db)


def forget_user(db: Session, user_id: int) -> None:
    _changed(db)
    db.execute(delete(ConversationState).where(ConversationState.telegram_user_id == user_id))


def purge_expired(db: Session, now: datetime) -> int:
    result = db.execute(delete(ConversationState).where(ConversationState.expires_at <= now))
    return result.rowcount or 0


def _touch(state: ConversationState, now: datetime) -> None:
    state.updated_at = now
    state.expires_at = now + IDLE_LIMIT
