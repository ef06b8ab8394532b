"""The figures the city asked for and could not answer, per job centre.

Definitions (all dates are local dates of the job centre):
- a plan milestone counts in a period when it falls due in it; it was on time if it was done
  on or before its due date; late if done after it, or still open after it; still open and not
  yet due at the end of the period: pending, outside the share.
- first plan: the median is the number of working days from the information session (the day
  the deadline was counted from) to the day the plan was done.
- attendance rate: days present out of days recorded (present, excused or unexcused).
- absences by reason: absence days reported in the period, per reason.
- unexcused streaks: per aspirant, the longest run of unexcused working days in the period.
- no-shows: bookings of information sessions in the period marked no-show, out of those marked
  attended or no-show.
- reminders: outbox messages due in the period, by outcome (and skip reason).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar
from bot.models import (
    AbsenceReport,
    AttendanceRecord,
    AttendanceStatus,
    Booking,
    BookingStatus,
    Enrolment,
    InfoSession,
    JobCentre,
    MilestoneKind,
    OutboxMessage,
    OutboxStatus,
    Person,
    PlanMilestone,
    RoleGrant,
)
from bot.services.centres.calendars import calendar_for


@dataclass
class Share:
    hits: int = 0
    total: int = 0

    @property
    def rate(self) -> float | None:
        return self.hits / self.total if self.total else None

    def add(self, other: Share) -> None:
        self.hits += other.hits
        self.total += other.total


@dataclass
class MilestoneFigures:
    on_time: Share = field(default_factory=Share)
    pending: int = 0
    days_to_done: list[int] = field(default_factory=list)

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days_to_done) if self.days_to_done else None

    def add(self, other: MilestoneFigures) -> None:
        self.on_time.add(other.on_time)
        self.pending += other.pending
        self.days_to_done += other.days_to_done


@dataclass
class Figures:
    name: str
    first_plan: MilestoneFigures = field(default_factory=MilestoneFigures)
    deepened_plan: MilestoneFigures = field(default_factory=MilestoneFigures)
    reviews: MilestoneFigures = field(default_factory=MilestoneFigures)
    attendance: Share = field(default_factory=Share)
    absence_days_by_reason: Counter[str] = field(default_factory=Counter)
    longest_unexcused_streaks: list[int] = field(default_factory=list)
    session_no_shows: Share = field(default_factory=Share)
    reminders: Counter[str] = field(default_factory=Counter)

    def add(self, other: Figures) -> None:
        self.first_plan.add(other.first_plan)
        self.deepened_plan.add(other.deepened_plan)
        self.reviews.add(other.reviews)
        self.attendance.add(other.attendance)
        self.absence_days_by_reason.update(other.absence_days_by_reason)
        self.longest_unexcused_streaks += other.longest_unexcused_streaks
        self.session_no_shows.add(other.session_no_shows)
        self.reminders.update(other.reminders)

    def aspirants_with_streak(self, at_least: int) -> int:
        return sum(1 for s in self.longest_unexcused_streaks if s >= at_least)


@dataclass
class Report:
    first: date
    last: date
    centres: list[Figures]
    total: Figures
    weekly_attendance: dict[date, Share]
    weekly_first_plan: dict[date, Share]
    # Only where an admin switched gender and age on: label -> figures over every centre.
    by_gender: dict[str, Figures] = field(default_factory=dict)
    by_age_band: dict[str, Figures] = field(default_factory=dict)


NOT_RECORDED = "not recorded"


def compute(db: Session, first: date, last: date, *, centre_ids: Iterable[int] | None = None,
            coach_id: int | None = None, groups: bool = False) -> Report:
    """Figures for ``first``..``last`` inclusive, per centre; ``coach_id`` limits to a caseload;
    ``groups`` adds figures by gender and by age band (age reached in the period's last year)."""
    if last < first:
        raise ValueError("the period ends before it starts")
    query = select(JobCentre).order_by(JobCentre.name)
    if centre_ids is not None:
        query = query.where(JobCentre.id.in_(list(centre_ids)))
    centres_in_scope = list(db.scalars(query))
    weekly_attendance: dict[date, Share] = defaultdict(Share)
    weekly_first_plan: dict[date, Share] = defaultdict(Share)
    centres = [_centre(db, centre, first, last, coach_id, weekly_attendance, weekly_first_plan)
               for centre in centres_in_scope]
    total = Figures(name="")
    for figures in centres:
        total.add(figures)
    report = Report(first, last, centres, total, dict(sorted(weekly_attendance.items())),
                    dict(sorted(weekly_first_plan.items())))
    if groups:
        from bot.services.people import demographics

        genders = {g: Person.gender == g for g in demographics.GENDERS}
        genders[NOT_RECORDED] = Person.gender.is_(None)
        bands = {label: demographics.band_condition(label, last)
                 for label, _low, _high in demographics.AGE_BANDS}
        bands[NOT_RECORDED] = Person.birth_year.is_(None)
        report.by_gender = _grouped(db, centres_in_scope, first, last, coach_id, genders)
        report.by_age_band = _grouped(db, centres_in_scope, first, last, coach_id, bands)
    return report


def _grouped(db: Session, centres: list[JobCentre], first: date, last: date,
             coach_id: int | None, conditions: dict[str, Any]) -> dict[str, Figures]:
    result = {}
    for label, condition in conditions.items():
        group = Figures(name=label)
        for centre in centres:
            group.add(_centre(db, centre, first, last, coach_id, defaultdict(Share),
                              defaultdict(Share), person_condition=condition))
        result[label] = group
    return result


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _centre(db: Session, centre: JobCentre, first: date, last: date, coach_id: int | None,
            weekly_attendance: dict[date, Share], weekly_first_plan: dict[date, Share],
            person_condition: Any = None) -> Figures:
    zone = ZoneInfo(centre.timezone)
    calendar = calendar_for(db, centre.id)
    figures = Figures(name=centre.name)
    enrolments = select(Enrolment.id).where(Enrolment.job_centre_id == centre.id)
    if coach_id is not None:
        enrolments = enrolments.where(Enrolment.coach_id == coach_id)
    if person_condition is not None:
        enrolments = enrolments.where(
            Enrolment.aspirant_id.in_(select(Person.id).where(person_condition)))

    milestones = db.scalars(select(PlanMilestone).where(
        PlanMilestone.enrolment_id.in_(enrolments), PlanMilestone.cancelled_at.is_(None),
        PlanMilestone.due_on >= first, PlanMilestone.due_on <= last))
    for milestone in milestones:
        target = {MilestoneKind.FIRST_PLAN: figures.first_plan,
                  MilestoneKind.DEEPENED_PLAN: figures.deepened_plan,
                  MilestoneKind.REVIEW: figures.reviews}[milestone.kind]
        done_on = _local(milestone.done_at, zone)
        if done_on is None and milestone.due_on >= last:
            target.pending += 1
            continue
        on_time = done_on is not None and done_on <= milestone.due_on
        target.on_time.total += 1
        target.on_time.hits += on_time
        if milestone.kind == MilestoneKind.FIRST_PLAN:
            weekly = weekly_first_plan[_week(milestone.due_on)]
            weekly.total += 1
            weekly.hits += on_time
            if done_on is not None:
                target.days_to_done.append(
                    calendar.count_working_days(milestone.counted_from, done_on))

    records = db.scalars(select(AttendanceRecord).where(
        AttendanceRecord.enrolment_id.in_(enrolments),
        AttendanceRecord.day >= first, AttendanceRecord.day <= last,
    ).order_by(AttendanceRecord.enrolment_id, AttendanceRecord.day))
    by_enrolment: dict[int, list[AttendanceRecord]] = defaultdict(list)
    for record in records:
        present = record.status == AttendanceStatus.PRESENT
        figures.attendance.total += 1
        figures.attendance.hits += present
        weekly = weekly_attendance[_week(record.day)]
        weekly.total += 1
        weekly.hits += present
        by_enrolment[record.enrolment_id].append(record)
    for enrolment_records in by_enrolment.values():
        figures.longest_unexcused_streaks.append(_longest_streak(enrolment_records, calendar))

    reports = db.scalars(select(AbsenceReport).where(
        AbsenceReport.enrolment_id.in_(enrolments),
        AbsenceReport.first_day <= last, AbsenceReport.last_day >= first))
    for report in reports:
        days = sum(1 for _ in calendar.working_days(max(report.first_day, first),
                                                    min(report.last_day, last)))
        figures.absence_days_by_reason[report.reason.value] += days

    start, end = _utc_bounds(first, last, zone)
    bookings = db.scalars(select(Booking).join(InfoSession).where(
        InfoSession.job_centre_id == centre.id, InfoSession.starts_at >= start,
        InfoSession.starts_at < end,
        Booking.status.in_((BookingStatus.ATTENDED, BookingStatus.NO_SHOW)),
        Booking.aspirant_id.in_(select(Enrolment.aspirant_id).where(
            Enrolment.id.in_(enrolments)))))
    for booking in bookings:
        figures.session_no_shows.total += 1
        figures.session_no_shows.hits += booking.status == BookingStatus.NO_SHOW

    people = select(Enrolment.aspirant_id).where(Enrolment.id.in_(enrolments))
    if coach_id is None and person_condition is None:
        # Centre-wide, the messages to the centre's staff (alerts, digests) count too.
        people = people.union(
            select(RoleGrant.person_id).where(RoleGrant.job_centre_id == centre.id))
    messages = db.execute(select(OutboxMessage.status, OutboxMessage.skip_reason).where(
        OutboxMessage.recipient_id.in_(people), OutboxMessage.due_at >= start,
        OutboxMessage.due_at < end))
    for status, reason in messages:
        if status == OutboxStatus.SKIPPED:
            figures.reminders[f"skipped:{reason or 'unknown'}"] += 1
        else:
            figures.reminders[status.value] += 1
    return figures


def _local(moment: datetime | None, zone: ZoneInfo) -> date | None:
    return moment.astimezone(zone).date() if moment is not None else None


def _utc_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start, end


def _longest_streak(records: list[AttendanceRecord], calendar: WorkCalendar) -> int:
    """Longest run of unexcused absences on consecutive working days."""
    longest = current = 0
    previous: date | None = None
    for record in records:
        if record.status != AttendanceStatus.UNEXCUSED:
            current, previous = 0, record.day
            continue
        follows = previous is not None and calendar.next_working_day(previous) == record.day
        current = current + 1 if follows and current else 1
        longest = max(longest, current)
        previous = record.day
    return longest
