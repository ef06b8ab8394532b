"""The data model. Importing this package registers every table on ``Base.metadata``."""

from bot.models.attendance import (
    AbsenceReport,
    AttendanceDay,
    AttendanceNote,
    AttendancePolicy,
    AttendanceRecord,
    ClosedDay,
    CoachAlert,
    CoachAlertItem,
    LocationRule,
)
from bot.models.base import Base, UTCDateTime
from bot.models.delivery import SendBudget
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
from bot.models.messaging import OutboxMessage, ReminderRule, ReminderSettings
from bot.models.people import Enrolment, Invite, JobCentre, Person, RoleGrant
from bot.models.plans import PlanMilestone
from bot.models.sessions import Booking, InfoSession
from bot.models.system import AuditEntry, ConversationState, Setting, Throttle

__all__ = [
    "AbsenceReason",
    "AbsenceReport",
    "AttendanceDay",
    "AttendanceNote",
    "AttendancePolicy",
    "AttendanceRecord",
    "AttendanceStatus",
    "Audience",
    "AuditEntry",
    "Base",
    "Booking",
    "BookingStatus",
    "CheckInMethod",
    "ClosedDay",
    "CoachAlert",
    "CoachAlertItem",
    "ConversationState",
    "Enrolment",
    "EventKind",
    "InfoSession",
    "Invite",
    "JobCentre",
    "LocationRule",
    "MilestoneKind",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "PlanMilestone",
    "ReminderRule",
    "ReminderSettings",
    "Role",
    "RoleGrant",
    "SendBudget",
    "Setting",
    "Throttle",
    "UTCDateTime",
]
