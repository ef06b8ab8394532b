"""A coach's caseload: each aspirant's status today, absence streak and next plan deadline."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar, local_date
from bot.models import (
    AbsenceReason,
    AbsenceReport,
    AttendancePolicy,
    AttendanceRecord,
    AttendanceStatus,
    Enrolment,
    JobCentre,
    MilestoneKind,
    Person,
    PlanMilestone,
)
from bot.services.attendance import absences, follow_up
from bot.services.attendance import policy as attendance_policy
from bot.services.attendance.policy import Day
from bot.services.centres.calendars import calendar_for

# Streaks are counted this many attendance days back at most.
STREAK_HORIZON = 30
# The digest lists plan deadlines this many working days ahead.
DIGEST_DAYS_AHEAD = 2


class Today(StrEnum):
    NONE = "none"  # no daily requirement
    NOT_STARTED = "not_started"  # a requirement that starts the day after the intake
    CLOSED = "closed"  # no check-in today
    WAITING = "waiting"  # the window is open or not yet open
    PRESENT = "present"
    REPORTED = "reported"  # absent with a reason reported, not judged yet
    EXCUSED = "excused"  # absent, judged valid
    NOT_VALID = "not_valid"  # absent, judged not valid
    ABSENT = "absent"  # detected, no reason given
    MISSING = "missing"  # the window has closed, detection not yet run


@dataclass
class Entry:
    enrolment: Enrolment
    name: str
    today: Today
    day: Day
    checked_in_at: datetime | None = None
    reason: AbsenceReason | None = None
    streak: int = 0
    next_kind: MilestoneKind | None = None
    next_due: date | None = None
    overdue: bool = False


@dataclass
class _Centre:
    centre: JobCentre
    policy: AttendancePolicy
    calendar: WorkCalendar
    day: Day
    back: list[date] = field(default_factory=list)


def _centres(db: Session, now: datetime, centre_ids: set[int]) -> dict[int, _Centre]:
    found = {}
    for centre_id in centre_ids:
        centre = db.get(JobCentre, centre_id)
        assert centre is not None
        policy = attendance_policy.policy_for(db, now, centre_id)
        calendar = calendar_for(db, centre_id)
        zone = attendance_policy.zone_of(centre)
        day = attendance_policy.day_at(policy, calendar, zone, local_date(now, zone))
        back = attendance_policy.attendance_days_back(policy, calendar, day.day, STREAK_HORIZON)
        found[centre_id] = _Centre(centre, policy, calendar, day, back)
    return found


def entries(db: Session, now: datetime, coach: Person, *, centre_id: int | None = None
            ) -> list[Entry]:
    """The coach's active aspirants, overdue plan deadlines first, then by next deadline."""
    query = (select(Enrolment, Person)
             .join(Person, Person.id == Enrolment.aspirant_id)
             .where(Enrolment.coach_id == coach.id, Enrolment.left_at.is_(None)))
    if centre_id is not None:
        query = query.where(Enrolment.job_centre_id == centre_id)
    rows = list(db.execute(query))
    return build(db, now, rows)


def build(db: Session, now: datetime, rows: list[tuple[Enrolment, Person]]) -> list[Entry]:
    if not rows:
        return []
    centres = _centres(db, now, {e.job_centre_id for e, _ in rows})
    ids = [e.id for e, _ in rows]
    oldest = min(min(c.back, default=c.day.day) for c in centres.values())
    records: dict[tuple[int, date], AttendanceRecord] = {
        (r.enrolment_id, r.day): r for r in db.scalars(
            select(AttendanceRecord).where(AttendanceRecord.enrolment_id.in_(ids),
                                           AttendanceRecord.day >= oldest))
    }
    report_ids = {r.absence_report_id for r in records.values() if r.absence_report_id}
    linked = {a.id: a for a in db.scalars(select(AbsenceReport)
                                          .where(AbsenceReport.id.in_(report_ids)))}
    covering: dict[int, AbsenceReport] = {}
    for day in {c.day.day for c in centres.values()}:
        covering.update(absences.covering(db, ids, day))
    milestones = _next_milestones(db, ids)
    result = []
    for enrolment, person in rows:
        where = centres[enrolment.job_centre_id]
        entry = Entry(enrolment=enrolment, name=person.display_name or "?",
                      today=Today.NONE, day=where.day)
        record = records.get((enrolment.id, where.day.day))
        _today(entry, now, where.day, record, covering.get(enrolment.id), linked)
        entry.streak = _streak(enrolment.id, where, records)
        milestone = milestones.get(enrolment.id)
        if milestone is not None:
            entry.next_kind = milestone.kind
            entry.next_due = milestone.due_on
            entry.overdue = milestone.due_on < where.day.day
        result.append(entry)
    result.sort(key=lambda e: (not e.overdue, e.next_due or date.max, e.name.casefold(),
                               e.enrolment.id))
    return result


def _today(entry: Entry, now: datetime, day: Day, record: AttendanceRecord | None,
           report: AbsenceReport | None, linked: dict[int, AbsenceReport]) -> None:
    if record is not None:
        entry.today = {AttendanceStatus.PRESENT: Today.PRESENT,
                       AttendanceStatus.REPORTED: Today.REPORTED,
                       AttendanceStatus.EXCUSED: Today.EXCUSED,
                       AttendanceStatus.UNEXCUSED: Today.ABSENT}[record.status]
        if record.status == AttendanceStatus.UNEXCUSED and record.judged_by_id is not None:
            entry.today = Today.NOT_VALID
        if record.status == AttendanceStatus.PRESENT:
            entry.checked_in_at = record.recorded_at
        explained = linked.get(record.absence_report_id or 0)
        entry.reason = explained.reason if explained else (report.reason if report else None)
        return
    if not entry.enrolment.attendance_required:
        entry.today = Today.NONE
    elif not attendance_policy.required_on(entry.enrolment, day.day):
        entry.today = Today.NOT_STARTED
    elif not day.is_attendance_day:
        entry.today = Today.CLOSED
    elif report is not None:
        entry.today = Today.REPORTED
        entry.reason = report.reason
    elif now <= day.cutoff:
        entry.today = Today.WAITING
    else:
        entry.today = Today.MISSING


def _streak(enrolment_id: int, where: _Centre,
            records: dict[tuple[int, date], AttendanceRecord]) -> int:
    """Unexcused absences in a row, up to the last attendance day with a decision."""
    streak = 0
    for day in where.back:
        record = records.get((enrolment_id, day))
        if day == where.day.day and record is None:
            continue  # today is not decided yet
        if record is None or record.status != AttendanceStatus.UNEXCUSED:
            break
        streak += 1
    return streak


def _next_milestones(db: Session, enrolment_ids: list[int]) -> dict[int, PlanMilestone]:
    found: dict[int, PlanMilestone] = {}
    for milestone in db.scalars(
        select(PlanMilestone)
        .where(PlanMilestone.enrolment_id.in_(enrolment_ids), PlanMilestone.done_at.is_(None),
               PlanMilestone.cancelled_at.is_(None))
        .order_by(PlanMilestone.due_on, PlanMilestone.id)
    ):
        found.setdefault(milestone.enrolment_id, milestone)
    return found


def page(items: list[Any], number: int, size: int) -> tuple[list[Any], int, int]:
    """One page of ``items``; returns (items, page number used, page count)."""
    pages = max(1, -(-len(items) // size))
    number = min(max(0, number), pages - 1)
    return items[number * size:(number + 1) * size], number, pages


# --- one aspirant -----------------------------------------------------------------------
@dataclass
class Detail:
    entry: Entry
    centre: JobCentre
    recent: list[tuple[date, AttendanceStatus | None]]
    upcoming: list[AbsenceReport]
    milestones: list[PlanMilestone]
    notes: list[Any]


def detail(db: Session, now: datetime, actor: Person, enrolment_id: int, *,
           recent_days: int = 10) -> Detail:
    enrolment = follow_up.enrolment_for(db, actor, enrolment_id)
    person = db.get(Person, enrolment.aspirant_id)
    assert person is not None
    (entry,) = build(db, now, [(enrolment, person)])
    where = _centres(db, now, {enrolment.job_centre_id})[enrolment.job_centre_id]
    days = attendance_policy.attendance_days_back(where.policy, where.calendar, where.day.day,
                                                  recent_days)
    starts = attendance_policy.attendance_starts_on(enrolment)
    days = [d for d in days if starts is not None and d >= starts]
    statuses = {r.day: r.status for r in db.scalars(
        select(AttendanceRecord).where(AttendanceRecord.enrolment_id == enrolment.id,
                                       AttendanceRecord.day.in_(days)))} if days else {}
    milestones = list(db.scalars(
        select(PlanMilestone).where(PlanMilestone.enrolment_id == enrolment.id,
                                    PlanMilestone.cancelled_at.is_(None))
        .order_by(PlanMilestone.due_on)))
    return Detail(entry=entry, centre=enrolment.job_centre,
                  recent=[(d, statuses.get(d)) for d in days],
                  upcoming=absences.upcoming(db, now, enrolment), milestones=milestones,
                  notes=follow_up.notes(db, enrolment.id))


def markable_days(db: Session, now: datetime, actor: Person, enrolment_id: int, *,
                  count: int = 10) -> list[date]:
    """The recent check-in days a coach may record attendance for, newest first."""
    enrolment = follow_up.enrolment_for(db, actor, enrolment_id)
    where = _centres(db, now, {enrolment.job_centre_id})[enrolment.job_centre_id]
    enrolled = local_date(enrolment.enrolled_at, where.day.zone)
    starts = attendance_policy.attendance_starts_on(enrolment)
    days = attendance_policy.attendance_days_back(where.policy, where.calendar, where.day.day,
                                                  count)
    return [d for d in days if d >= enrolled and starts is not None and d >= starts]


# --- the daily digest -------------------------------------------------------------------
def digest_view(db: Session, now: datetime, coach: Person, centre: JobCentre
                ) -> dict[str, Any] | None:
    """What a coach's morning digest says, as JSON-safe data; None without aspirants."""
    found = entries(db, now, coach, centre_id=centre.id)
    if not found:
        return None
    where = found[0].day
    calendar = calendar_for(db, centre.id)
    horizon = calendar.add_working_days(where.day, DIGEST_DAYS_AHEAD)
    view: dict[str, Any] = defaultdict(list)
    view.update(day=where.day.isoformat(), centre=centre.name, count=len(found),
                required=sum(1 for e in found
                             if attendance_policy.required_on(e.enrolment, where.day)))
    for entry in found:
        if entry.today in (Today.REPORTED, Today.EXCUSED) and entry.reason is not None:
            view["reported"].append([entry.name, entry.reason.value])
        if entry.streak:
            view["streaks"].append([entry.name, entry.streak])
        if entry.next_due is not None and entry.next_kind is not None:
            line = [entry.name, entry.next_kind.value, entry.next_due.isoformat()]
            if entry.overdue:
                view["overdue"].append(line)
            elif entry.next_due <= horizon:
                view["due"].append(line)
    for key in ("reported", "streaks", "overdue", "due"):
        view.setdefault(key, [])
    return dict(view)


def coaches_at(db: Session, centre_id: int) -> list[Person]:
    """Coaches with at least one active aspirant at the centre."""
    return list(db.scalars(
        select(Person)
        .join(Enrolment, Enrolment.coach_id == Person.id)
        .where(Enrolment.job_centre_id == centre_id, Enrolment.left_at.is_(None),
               Person.erased_at.is_(None))
        .order_by(Person.id)
        .distinct()
    ))
