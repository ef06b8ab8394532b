"""Closed vocabularies of the domain, stored as their string values."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ASPIRANT = "aspirant"
    COACH = "coach"
    TEAM_LEAD = "team_lead"
    ADMIN = "admin"
    # Socialsekreterare at the district office: sees the attendance statements and plan
    # status of the aspirants linked to them, nothing else.
    SOCIAL_WORKER = "social_worker"


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
    """A check-in day's outcome. Whether an absence is valid is judged by the coach, never
    by the software: a reason given makes it REPORTED until the coach judges it."""

    PRESENT = "present"
    # Absent with a reason reported (in advance or when asked), not judged yet.
    REPORTED = "reported"
    # Absent, judged valid (giltig frånvaro) by the coach.
    EXCUSED = "excused"
    # Absent without a reason, or judged not valid by the coach.
    UNEXCUSED = "unexcused"


class Judgement(StrEnum):
    """The coach's judgement of a reported absence."""

    VALID = "valid"
    NOT_VALID = "not_valid"


class FollowUpOutcome(StrEnum):
    """What the coach found out six months after an aspirant left."""

    SELF_SUPPORTING = "self_supporting"
    NOT_SELF_SUPPORTING = "not_self_supporting"
    UNKNOWN = "unknown"


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
