"""Who sent an update, in one statement: the person, their roles, their current
enrolment (with the version of its centre's policy) and their conversation step.

Every update starts here, so it is one prebuilt Core statement rather than ORM loads
(a person with roles through the ORM costs more than ten times as much). Handlers
that need the full ``Person`` load it on demand (handlers/base.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session

from bot.models import (
    AttendancePolicy,
    ConversationState,
    Enrolment,
    Person,
    Role,
    RoleGrant,
)

_person = Person.__table__.c
_grant = RoleGrant.__table__.c
_enrolment = Enrolment.__table__.c
_policy = AttendancePolicy.__table__.c
_conversation = ConversationState.__table__.c


@dataclass(frozen=True)
class ActiveEnrolment:
    """The aspirant's current enrolment (the latest one not ended)."""

    id: int
    job_centre_id: int
    coach_id: int | None
    attendance_required: bool
    # The centre's policy version (None before the centre has a policy).
    policy_version: int | None
    # The intake day; the daily requirement starts the day after (None: no intake yet).
    intake_on: date | None = None


@dataclass(frozen=True)
class ConversationStep:
    flow: str
    step: str
    expires_at: datetime


@dataclass(frozen=True)
class Identity:
    person_id: int
    language: str
    erased: bool
    unreachable: bool
    roles: frozenset[tuple[Role, int | None]]
    enrolment: ActiveEnrolment | None
    # This chat's conversation step when the update arrived (None: none).
    conversation: ConversationStep | None

    def has_role(self, *roles: Role) -> bool:
        return any(role in roles for role, _ in self.roles)


def current_enrolment_id(aspirant_id: Any = _person.id):  # type: ignore[no-untyped-def]
    """The id of the aspirant's current enrolment — the newest that has not ended — as a
    scalar subquery (``people.current_enrolment`` is the same rule through the ORM)."""
    inner = Enrolment.__table__.alias("current")
    query = select(func.max(inner.c.id)).where(inner.c.aspirant_id == aspirant_id,
                                                 inner.c.left_at.is_(None))
    if aspirant_id is _person.id:
        query = query.correlate(Person.__table__)
    return query.scalar_subquery()


_IDENTITY = (
    select(_person.id, _person.language, _person.erased_at, _person.unreachable_at,
           _grant.role, _grant.job_centre_id,
           _enrolment.id.label("enrolment_id"), _enrolment.job_centre_id.label("centre_id"),
           _enrolment.coach_id, _enrolment.attendance_required, _enrolment.intake_on,
           _policy.version, _conversation.flow, _conversation.step, _conversation.expires_at)
    .select_from(Person.__table__)
    .outerjoin(RoleGrant.__table__, _grant.person_id == _person.id)
    .outerjoin(Enrolment.__table__, _enrolment.id == current_enrolment_id())
    .outerjoin(AttendancePolicy.__table__, _policy.job_centre_id == _enrolment.job_centre_id)
    .outerjoin(ConversationState.__table__,
               and_(_conversation.telegram_user_id == _person.telegram_user_id,
                    _conversation.chat_id == bindparam("chat_id")))
    .where(_person.telegram_user_id == bindparam("user_id"))
)


def identify(db: Session, telegram_user_id: int, chat_id: int) -> Identity | None:
    """The person behind a Telegram account, or None if the bot does not know them."""
    rows = db.connection().execute(_IDENTITY, {"user_id": telegram_user_id,
                                               "chat_id": chat_id}).all()
    if not rows:
        return None
    first = rows[0]
    enrolment = None
    if first.enrolment_id is not None:
        enrolment = ActiveEnrolment(first.enrolment_id, first.centre_id, first.coach_id,
                                    bool(first.attendance_required), first.version,
                                    first.intake_on)
    conversation = None
    if first.flow is not None:
        conversation = ConversationStep(first.flow, first.step, first.expires_at)
    roles = frozenset((Role(row.role), row.job_centre_id) for row in rows
                      if row.role is not None)
    return Identity(person_id=first.id, language=first.language,
                    erased=first.erased_at is not None,
                    unreachable=first.unreachable_at is not None, roles=roles,
                    enrolment=enrolment, conversation=conversation)
