"""Closed vocabularies of the domain, stored as their string values."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ASPIRANT = "aspirant"
    COACH = "coach"
    TEAM_LEAD = "team_lead"
    ADMIN = "admin"


class BookingStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class MilestoneKind(StrEnum):
    FIRST_PLAN = "first_plan"
    DEEPENED_PLAN = "deepened_plan"
    REVIEW = "review"


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    EXCUSED = "excused"
    UNEXCUSED = "unexcused"


class CheckInMethod(StrEnum):
    CODE = "code"
    LOCATION = "location"
    MANUAL = "manual"


class AbsenceReason(StrEnum):
    ILL = "ill"
    SICK_CHILD = "sick_child"
    JOB_INTERVIEW = "job_interview"
    APPOINTMENT = "appointment"
    OTHER = "other"


class EventKind(StrEnum):
    INFO_SESSION = "info_session"
    FIRST_PLAN = "first_plan"
    DEEPENED_PLAN = "deepened_plan"
    REVIEW = "review"
    CHECK_IN = "check_in"


class Audience(StrEnum):
    ASPIRANT = "aspirant"
    COACH = "coach"
    TEAM_LEAD = "team_lead"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
