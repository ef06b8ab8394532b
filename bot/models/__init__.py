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
from bot.models.console import ConsoleSession, ConsoleSignInLink
from bot.models.delivery import SendBudget
from bot.models.enums import (
    AbsenceReason,
    AttendanceStatus,
    Audience,
    BookingStatus,
    CheckInMethod,
    EventKind,
    FollowUpOutcome,
    Judgement,
    MilestoneKind,
    OutboxStatus,
    Role,
)
from bot.models.messaging import OutboxMessage, ReminderRule, ReminderSettings
from bot.models.people import Enrolment, Invite, JobCentre, Person, RoleGrant
from bot.models.planning import ReplanRequest
from bot.models.plans import ExitFollowUp, PlanMilestone
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
    "ConsoleSession",
    "ConsoleSignInLink",
    "ConversationState",
    "Enrolment",
    "EventKind",
    "ExitFollowUp",
    "FollowUpOutcome",
    "InfoSession",
    "Invite",
    "JobCentre",
    "Judgement",
    "LocationRule",
    "MilestoneKind",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "PlanMilestone",
    "ReminderRule",
    "ReminderSettings",
    "ReplanRequest",
    "Role",
    "RoleGrant",
    "SendBudget",
    "Setting",
    "Throttle",
    "UTCDateTime",
]
