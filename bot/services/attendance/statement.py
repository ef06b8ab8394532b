"""An attendance statement for one aspirant over a period, for the coach to pass on.

Social services use it with the job plan to assess the right to assistance, so
it says exactly what is recorded: days present, absences by reason, unexcused
absences, and check-in days with nothing recorded (e.g. before a requirement).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import local_date
from bot.errors import DomainError
from bot.i18n import N_
from bot.models import (
    AbsenceReason,
    AbsenceReport,
    AttendanceRecord,
    AttendanceStatus,
    CheckInMethod,
    Enrolment,
    JobCentre,
    Person,
)
from bot.services.attendance import follow_up
from bot.services.attendance import policy as attendance_policy
from bot.services.centres.calendars import calendar_for
from bot.services.system import audit

MAX_PERIOD = timedelta(days=366)
NOT_RECORDED = "not_recorded"
STAFF = "staff"
UNKNOWN = "unknown"


@dataclass
class StatementDay:
    day: date
    # AttendanceStatus value, or NOT_RECORDED
    status: str
    reason: AbsenceReason | None = None
    checked_in_at: datetime | None = None
    method: CheckInMethod | None = None
    # What proved presence: a check-in's evidence ("code", "live_location",
    # "code+location_pin", …), STAFF for a mark by staff, UNKNOWN for a check-in made
    # before evidence was recorded.
    evidence: str | None = None


@dataclass
class Statement:
    enrolment: Enrolment
    name: str
    centre: JobCentre
    first: date
    last: date
    days: list[StatementDay] = field(default_factory=list)

    @property
    def check_in_days(self) -> int:
        return len(self.days)

    def count(self, status: str) -> int:
        return sum(1 for d in self.days if d.status == status)

    @property
    def present(self) -> int:
        return self.count(AttendanceStatus.PRESENT.value)

    @property
    def excused(self) -> int:
        return self.count(AttendanceStatus.EXCUSED.value)

    @property
    def unexcused(self) -> int:
        return self.count(AttendanceStatus.UNEXCUSED.value)

    @property
    def not_recorded(self) -> int:
        return self.count(NOT_RECORDED)

    def presence_by_evidence(self) -> Counter[str]:
        """Days present by what proved it."""
        return Counter(d.evidence or UNKNOWN for d in self.days
                       if d.status == AttendanceStatus.PRESENT.value)

    def absences_by_reason(self) -> Counter[AbsenceReason | None]:
        """Every absence (excused or not) by the reason given; None: no reason given."""
        return Counter(d.reason for d in self.days
                       if d.status in (AttendanceStatus.EXCUSED.value,
                                       AttendanceStatus.UNEXCUSED.value))


def period(zone_day: date, name: str) -> tuple[date, date]:
    """Named periods offered to the coach: the last 30 days, this month, last month."""
    if name == "30":
        return zone_day - timedelta(days=29), zone_day
    if name == "m":
        return zone_day.replace(day=1), zone_day
    if name == "pm":
        last = zone_day.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise DomainError(N_("Unknown period."))


def statement(db: Session, now: datetime, actor: Person, enrolment_id: int, first: date,
              last: date) -> Statement:
    enrolment = follow_up.enrolment_for(db, actor, enrolment_id)
    if last < first:
        raise DomainError(N_("The period must end after it starts."))
    if last - first > MAX_PERIOD:
        raise DomainError(N_("Please choose a period of at most a year."))
    centre = enrolment.job_centre
    zone = attendance_policy.zone_of(centre)
    policy = attendance_policy.policy_for(db, now, centre.id)
    calendar = calendar_for(db, centre.id)
    today = local_date(now, zone)
    _, today_rules = attendance_policy.today_at(db, centre, now)
    person = db.get(Person, enrolment.aspirant_id)
    result = Statement(enrolment=enrolment, name=(person.display_name if person else None) or "?",
                       centre=centre, first=first, last=last)
    start = max(first, local_date(enrolment.enrolled_at, zone))
    end = min(last, today)
    if enrolment.left_at is not None:
        end = min(end, local_date(enrolment.left_at, zone))
    records = {r.day: r for r in db.scalars(
        select(AttendanceRecord).where(AttendanceRecord.enrolment_id == enrolment.id,
                                       AttendanceRecord.day >= start,
                                       AttendanceRecord.day <= end))}
    reports = list(db.scalars(
        select(AbsenceReport).where(AbsenceReport.enrolment_id == enrolment.id,
                                    AbsenceReport.first_day <= end,
                                    AbsenceReport.last_day >= start)
        .order_by(AbsenceReport.reported_at, AbsenceReport.id)))
    by_id = {r.id: r for r in reports}
    day = start
    while day <= end:
        record = records.get(day)
        if attendance_policy.is_attendance_day(policy, calendar, day) or record is not None:
            line = _line(day, record, reports, by_id)
            # Today is still open until the check-in closes.
            undecided = day == today and record is None and now <= today_rules.cutoff
            if not undecided:
                result.days.append(line)
        day += timedelta(days=1)
    audit.record(db, now, "attendance.statement", actor=actor, subject=enrolment,
                 first=first.isoformat(), last=last.isoformat())
    return result


def _line(day: date, record: AttendanceRecord | None, reports: list[AbsenceReport],
          by_id: dict[int, AbsenceReport]) -> StatementDay:
    covering = [r for r in reports if r.first_day <= day <= r.last_day]
    report = covering[-1] if covering else None
    if record is None:
        if report is not None:
            return StatementDay(day, AttendanceStatus.EXCUSED.value, reason=report.reason)
        return StatementDay(day, NOT_RECORDED)
    if record.status == AttendanceStatus.PRESENT:
        evidence = record.evidence or (STAFF if record.method in (CheckInMethod.MANUAL, None)
                                       else UNKNOWN)
        return StatementDay(day, record.status.value, checked_in_at=record.recorded_at,
                            method=record.method, evidence=evidence)
    linked = by_id.get(record.absence_report_id or 0)
    reason = (linked or report).reason if (linked or report) else None
    return StatementDay(day, record.status.value, reason=reason)
