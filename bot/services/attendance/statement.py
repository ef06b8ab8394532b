"""An attendance statement for one aspirant over a period, for social services.

Social services use it with the job plan to assess the right to assistance, so it says
exactly what is recorded, from the first day of the daily requirement (the day after the
intake) on: days present; absences with the reason the aspirant reported, the coach's
judgement (valid or not valid) and who made it; reported absences not judged yet;
absences without a reason; and check-in days with nothing recorded. The software
never judges an absence.
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
    Judgement,
    Person,
)
from bot.services.attendance import policy as attendance_policy
from bot.services.centres.calendars import calendar_for
from bot.services.system import audit

MAX_PERIOD = timedelta(days=366)

# What a statement line says about a day.
PRESENT = "present"
REPORTED = "reported"  # absent, reason reported, not judged yet
VALID = "valid"  # absent, judged valid by the coach
NOT_VALID = "not_valid"  # absent, judged not valid by the coach
NO_REASON = "no_reason"  # absent, no reason given, not judged
NOT_RECORDED = "not_recorded"
ABSENT = (REPORTED, VALID, NOT_VALID, NO_REASON)
LINE_STATUSES = (PRESENT, *ABSENT, NOT_RECORDED)
# What proved presence, beside a check-in's own evidence ("code", "live_location", …).
STAFF = "staff"  # marked by staff
UNKNOWN = "unknown"  # a check-in made before evidence was recorded


@dataclass
class StatementDay:
    day: date
    # one of LINE_STATUSES
    status: str
    reason: AbsenceReason | None = None
    checked_in_at: datetime | None = None
    method: CheckInMethod | None = None
    judged_by: str | None = None
    judged_at: datetime | None = None
    # What proved presence: a check-in's evidence ("code", "live_location",
    # "code+location_pin", …), STAFF or UNKNOWN.
    evidence: str | None = None


@dataclass
class Statement:
    enrolment: Enrolment
    name: str
    centre: JobCentre
    first: date
    last: date
    days: list[StatementDay] = field(default_factory=list)
    # The first day of the daily requirement (None: no requirement, or no intake yet).
    starts_on: date | None = None

    @property
    def check_in_days(self) -> int:
        return len(self.days)

    def count(self, status: str) -> int:
        return sum(1 for d in self.days if d.status == status)

    @property
    def present(self) -> int:
        return self.count(PRESENT)

    @property
    def reported(self) -> int:
        return self.count(REPORTED)

    @property
    def valid(self) -> int:
        return self.count(VALID)

    @property
    def not_valid(self) -> int:
        return self.count(NOT_VALID)

    @property
    def no_reason(self) -> int:
        return self.count(NO_REASON)

    @property
    def not_recorded(self) -> int:
        return self.count(NOT_RECORDED)

    def presence_by_evidence(self) -> Counter[str]:
        """Days present by what proved it."""
        return Counter(d.evidence or UNKNOWN for d in self.days if d.status == PRESENT)

    def absences_by_reason(self) -> Counter[AbsenceReason | None]:
        """Every absence by the reason reported; None: no reason given."""
        return Counter(d.reason for d in self.days if d.status in ABSENT)

    def counts(self) -> dict[str, int]:
        return {status: self.count(status) for status in LINE_STATUSES}


def period(zone_day: date, name: str) -> tuple[date, date]:
    """Named periods offered: the last 30 days, this month, last month, last week."""
    if name == "30":
        return zone_day - timedelta(days=29), zone_day
    if name == "m":
        return zone_day.replace(day=1), zone_day
    if name == "pm":
        last = zone_day.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if name == "pw":
        monday = zone_day - timedelta(days=zone_day.weekday())
        return monday - timedelta(days=7), monday - timedelta(days=1)
    raise DomainError(N_("Unknown period."))


def statement(db: Session, now: datetime, actor: Person, enrolment_id: int, first: date,
              last: date) -> Statement:
    """The statement, for someone who may see it: the aspirant's coach, a team lead or
    admin of the centre, or the social worker linked to the aspirant."""
    from bot.services.people import social_workers

    enrolment = social_workers.visible_enrolment(db, actor, enrolment_id)
    if last < first:
        raise DomainError(N_("The period must end after it starts."))
    if last - first > MAX_PERIOD:
        raise DomainError(N_("Please choose a period of at most a year."))
    result = build(db, now, enrolment, first, last)
    audit.record(db, now, "attendance.statement", actor=actor, subject=enrolment,
                 first=first.isoformat(), last=last.isoformat())
    return result


def build(db: Session, now: datetime, enrolment: Enrolment, first: date, last: date
          ) -> Statement:
    """The statement as recorded (no access check: callers check who may see it)."""
    centre = enrolment.job_centre
    zone = attendance_policy.zone_of(centre)
    policy = attendance_policy.policy_for(db, now, centre.id)
    calendar = calendar_for(db, centre.id)
    today = local_date(now, zone)
    _, today_rules = attendance_policy.today_at(db, centre, now)
    person = db.get(Person, enrolment.aspirant_id)
    starts = attendance_policy.attendance_starts_on(enrolment)
    result = Statement(enrolment=enrolment, name=(person.display_name if person else None) or "?",
                       centre=centre, first=first, last=last, starts_on=starts)
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
    judges = _names(db, {r.judged_by_id for r in records.values() if r.judged_by_id}
                    | {r.judged_by_id for r in reports if r.judged_by_id})
    day = start
    while day <= end:
        record = records.get(day)
        # Before the requirement started nobody is absent; a day recorded anyway is shown.
        required = starts is not None and day >= starts
        if record is not None or (required and attendance_policy.is_attendance_day(
                policy, calendar, day)):
            line = _line(day, record, reports, by_id, judges)
            # Today is still open until the check-in closes.
            undecided = day == today and record is None and now <= today_rules.cutoff
            if not undecided:
                result.days.append(line)
        day += timedelta(days=1)
    return result


def _names(db: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {pid: name or "?" for pid, name in db.execute(
        select(Person.id, Person.display_name).where(Person.id.in_(ids)))}


def _line(day: date, record: AttendanceRecord | None, reports: list[AbsenceReport],
          by_id: dict[int, AbsenceReport], judges: dict[int, str]) -> StatementDay:
    covering = [r for r in reports if r.first_day <= day <= r.last_day]
    report = covering[-1] if covering else None
    if record is None:
        if report is None:
            return StatementDay(day, NOT_RECORDED)
        # Reported, and the day passed without a record (e.g. the bot was down).
        status = {Judgement.VALID: VALID, Judgement.NOT_VALID: NOT_VALID}.get(
            report.judgement, REPORTED)  # type: ignore[arg-type]
        return StatementDay(day, status, reason=report.reason,
                            judged_by=judges.get(report.judged_by_id or 0),
                            judged_at=report.judged_at)
    if record.status == AttendanceStatus.PRESENT:
        evidence = record.evidence or (STAFF if record.method in (CheckInMethod.MANUAL, None)
                                       else UNKNOWN)
        return StatementDay(day, PRESENT, checked_in_at=record.recorded_at,
                            method=record.method, evidence=evidence)
    linked = by_id.get(record.absence_report_id or 0)
    reason = linked.reason if linked is not None else None
    if record.status == AttendanceStatus.EXCUSED:
        status = VALID
    elif record.status == AttendanceStatus.REPORTED:
        status = REPORTED
    elif record.judged_by_id is not None:
        status = NOT_VALID
    else:
        status = NO_REASON
    return StatementDay(day, status, reason=reason,
                        judged_by=judges.get(record.judged_by_id or 0),
                        judged_at=record.judged_at)
