"""The data model. Importing this package registers every table on ``Base.metadata``."""

from bot.models.attendance import AbsenceReport, AttendanceRecord, ClosedDay
from bot.models.base import Base, UTCDateTime
from bot.models.enums import (
    AbsenceReason,
    AttendanceStatus,
    Audience,
    BookingStatus,
    CheckInMethod,
    EventKind,
    MilestoneKind,
    OutboxStatus,
    Role,
)
from bot.models.messaging import OutboxMessage, ReminderRule
from bot.models.people import Enrolment, Invite, JobCentre, Person, RoleGrant
from bot.models.plans import PlanMilestone
from bot.models.sessions import Booking, InfoSession
from bot.models.system import AuditEntry, ConversationState, Throttle

__all__ = [
    "AbsenceReason",
    "AbsenceReport",
    "AttendanceRecord",
    "AttendanceStatus",
    "Audience",
    "AuditEntry",
    "Base",
    "Booking",
    "BookingStatus",
    "CheckInMethod",
    "ClosedDay",
    "ConversationState",
    "Enrolment",
    "EventKind",
    "InfoSession",
    "Invite",
    "JobCentre",
    "MilestoneKind",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "PlanMilestone",
    "ReminderRule",
    "Role",
    "RoleGrant",
    "Throttle",
    "UTCDateTime",
]
