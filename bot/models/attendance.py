"""Daily attendance: the policy per job centre, check-ins, absence reports, coach alerts."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Time, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, str_enum
from bot.models.enums import AbsenceReason, AttendanceStatus, CheckInMethod, Judgement


class LocationRule(StrEnum):
    """What a shared location counts for at check-in."""

    OFF = "off"  # the code only; locations are not asked for
    ALTERNATIVE = "alternative"  # the code, or a location inside the radius
    REQUIRED = "required"  # the code and a location inside the radius


class AttendancePolicy(Base):
    """How daily attendance works at one job centre (set by admins)."""

    __tablename__ = "attendance_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_centre_id: Mapped[int] = mapped_column(ForeignKey("job_centre.id"), unique=True)
    # ISO weekdays with a requirement, e.g. "12345"; public holidays and closed days are off.
    weekdays: Mapped[str] = mapped_column(String(7), default="12345")
    window_start: Mapped[time] = mapped_column(Time, default=time(8, 30))
    window_end: Mapped[time] = mapped_column(Time, default=time(10, 0))
    # Late check-ins are still taken this long after the window; then absences are detected.
    grace_minutes: Mapped[int] = mapped_column(Integer, default=15)
    # Escalate at this many unexcused absences in a row (0: never) ...
    streak_limit: Mapped[int] = mapped_column(Integer, default=2)
    # ... or at this many within the last ``window_days`` attendance days (0: never).
    window_limit: Mapped[int] = mapped_column(Integer, default=3)
    window_days: Mapped[int] = mapped_column(Integer, default=10)
    # An alert no coach has acted on is sent again, once, after this long.
    alert_resend_minutes: Mapped[int] = mapped_column(Integer, default=60)
    # Ask first: the aspirant is asked why at once, the coach's alert waits this long for
    # the answer (0: both at once).
    alert_delay_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # The absence reasons offered, comma-separated AbsenceReason values ("other" always).
    absence_reasons: Mapped[str] = mapped_column(
        String(100), default="ill,sick_child,job_interview,appointment,other",
        server_default="ill,sick_child,job_interview,appointment,other")
    # Local time of the coaches' daily digest on working days; None: no digest.
    digest_time: Mapped[time | None] = mapped_column(Time, default=time(8, 0))
    location_rule: Mapped[LocationRule] = mapped_column(str_enum(LocationRule),
                                                        default=LocationRule.OFF)
    # A location counts when it is a live location; a plain pin (which can be sent from
    # anywhere) only where an admin chose this.
    accept_location_pin: Mapped[bool] = mapped_column(Boolean, default=False,
                                                      server_default=false())
    radius_m: Mapped[int] = mapped_column(Integer, default=200)
    code_step_seconds: Mapped[int] = mapped_column(Integer, default=60)
    # Key of the rotating check-in codes; never shown, replaced to invalidate every code.
    code_secret: Mapped[str] = mapped_column(String(64))
    # Grows with every change to this policy, the centre's closed days, zone or place:
    # caches of what a check-in reads about the centre compare it (services/attendance/
    # centre_facts.py).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AttendanceRecord(Base):
    __tablename__ = "attendance_record"
    __table_args__ = (UniqueConstraint("enrolment_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"))
    day: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[AttendanceStatus] = mapped_column(str_enum(AttendanceStatus))
    method: Mapped[CheckInMethod | None] = mapped_column(str_enum(CheckInMethod))
    # What proved presence at a check-in (bot/services/attendance/evidence.py): "code",
    # "live_location", "location_pin", or two joined by "+"; None for staff marks.
    evidence: Mapped[str | None] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # The report that explains an absence on this day (given in advance or when asked).
    absence_report_id: Mapped[int | None] = mapped_column(ForeignKey("absence_report.id"))
    # Who judged the absence valid (EXCUSED) or not valid (UNEXCUSED), and when; None: no
    # one has judged it (an UNEXCUSED day without a judge had no reason given).
    judged_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    judged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AbsenceReport(Base):
    __tablename__ = "absence_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[AbsenceReason] = mapped_column(str_enum(AbsenceReason))
    # Free text only for reason "other"; erased with the person.
    note: Mapped[str | None] = mapped_column(String(500))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # The coach's judgement of the whole report (e.g. from the notice, before the days came);
    # the days recorded under it take it over. None: not judged.
    judgement: Mapped[Judgement | None] = mapped_column(str_enum(Judgement, 12))
    judged_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    judged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ClosedDay(Base):
    """A day a job centre is closed beyond weekends and public holidays (e.g. staff training)."""

    __tablename__ = "closed_day"
    __table_args__ = (UniqueConstraint("job_centre_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_centre_id: Mapped[int] = mapped_column(ForeignKey("job_centre.id"))
    day: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")


class AttendanceDay(Base):
    """The day's scheduled attendance work at one job centre; each step runs once.

    ``detected_at``: absences detected after the window (the aspirants asked why);
    ``alerted_at``: the coaches' alerts queued, after the wait for the answers;
    ``digest_at``: coaches' digests queued; ``weekly_at`` (on a week's Monday): the social
    workers' weekly statements of the week before queued.
    """

    __tablename__ = "attendance_day"
    __table_args__ = (UniqueConstraint("job_centre_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_centre_id: Mapped[int] = mapped_column(ForeignKey("job_centre.id"))
    day: Mapped[date] = mapped_column(Date)
    detected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    weekly_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CoachAlert(Base):
    """The one message a coach gets on a day about the aspirants who did not check in."""

    __tablename__ = "coach_alert"
    __table_args__ = (UniqueConstraint("coach_id", "job_centre_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    job_centre_id: Mapped[int] = mapped_column(ForeignKey("job_centre.id"))
    day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # When it was queued for the coach (after the wait for the aspirants' answers).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CoachAlertItem(Base):
    """One missing aspirant in a coach alert, and what the coach did about it."""

    __tablename__ = "coach_alert_item"
    __table_args__ = (UniqueConstraint("alert_id", "enrolment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("coach_alert.id"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"))
    record_id: Mapped[int] = mapped_column(ForeignKey("attendance_record.id"))
    # Which escalation rules this absence reached: "streak", "window", or both ("streak,window").
    escalation: Mapped[str | None] = mapped_column(String(20))
    # "valid", "not_valid", "present", "contacted" or "noted": the latest thing done
    # (earlier releases: "excused").
    action: Mapped[str | None] = mapped_column(String(20))
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))


class AttendanceNote(Base):
    """A coach's note on an aspirant's attendance (e.g. what a phone call found out)."""

    __tablename__ = "attendance_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # Free text about a person: erased with them.
    text: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
