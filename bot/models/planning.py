"""Durable requests to plan reminders again, and the indexes the set-wise planner reads by.

A change that affects many reminders (a rule, quiet hours, the check-in window, a closed
day, the hourly horizon) is recorded here in the same transaction as the change, then
planned in short chunks by whichever running instance claims it. The row holds how far
the pass has come, so a crash or a restart resumes it; it is deleted when the pass ends.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime
from bot.models.people import Enrolment, RoleGrant


class ReplanRequest(Base):
    __tablename__ = "replan_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Which centre's reminders (NULL: every centre) and which event kinds (comma-separated).
    job_centre_id: Mapped[int | None] = mapped_column(ForeignKey("job_centre.id"))
    kinds: Mapped[str] = mapped_column(String(120))
    # Stored on the reminders the pass cancels (e.g. rule_changed).
    reason: Mapped[str] = mapped_column(String(40))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Raised when another change joins the request: a pass that began before it starts over.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # Progress: the phase of the pass and the last event id planned in it.
    phase: Mapped[str] = mapped_column(String(16))
    after_id: Mapped[int] = mapped_column(Integer, default=0)
    # The instance working on it, until when (real time, not the business clock).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


# The planner walks a centre's open enrolments in id order, a chunk at a time.
Index("ix_enrolment_centre_open", Enrolment.job_centre_id, Enrolment.left_at, Enrolment.id)
# It finds the team leads among every aspirant's and coach's role grants.
Index("ix_role_grant_role", RoleGrant.role, RoleGrant.job_centre_id)
