"""The audit log: ids and actions only, never names or message texts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.models import AuditEntry, Person


def record(
    db: Session,
    now: datetime,
    action: str,
    *,
    actor: Person | None = None,
    subject: Any = None,
    **details: Any,
) -> AuditEntry:
    entry = AuditEntry(
        at=now,
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=type(subject).__tablename__ if subject is not None else None,
        subject_id=getattr(subject, "id", None),
        details=details,
    )
    db.add(entry)
    return entry
