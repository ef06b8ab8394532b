"""The figures the city follows and could not answer, per job centre (and by gender and age
band where those are recorded).

Definitions (all dates are local dates of the job centre; ``today`` is the day the figures
are made, so nothing not yet due counts as late):
- A plan is done when both have signed (the coach marked it, the aspirant confirmed it), on
  the later of the two days. A plan counts in a period when it falls due in it.
- First plan, the five-day guarantee ("a plan, work or another measure within five days"):
  met when, by its deadline (five working days after the intake), the plan was done, or the
  aspirant left for work or for studies, or the coach recorded that a measure started.
  An aspirant who left for another reason before the deadline (sent back, stopped) is left
  out; one whose deadline has not passed and who has not met it yet is "not yet due",
  outside the share. Everyone else counts, met or missed. ``met_by`` says how (plan first,
  then work, studies, a measure); "a job within five days" counts those who left for work
  by the deadline, plan or not.
- Median working days from the intake to the first plan done.
- Deepened plan and reviews: on time when done by the deadline; leaving before it, or a
  deadline not passed yet, leaves the plan out.
- Plans waiting for the aspirant's confirmation: marked finished by the coach, not yet
  confirmed, among those due in the period.
- Enrolled without an intake: enrolments active in the period with no intake recorded (no
  deadline can be counted for them).
- Closed within 12 months, excluding those sent back: of the aspirants whose twelve months
  since enrolment end in the period, those who left for work, studies or another reason
  within the twelve months; those sent back to the district office, and those who stopped
  using the service (outcome unknown), are left out, as are those whose twelve months have
  not passed and who are still enrolled.
- Self-supporting six months after leaving: of the follow-ups due in the period with an
  outcome the coach found out, the share self-supporting ("could not find out" and follow-ups
  not recorded are counted apart).
- Time enrolled, 16–24, who got work or studies: days from enrolment to leaving for work or
  studies, of those aged 16 to 24 (in the year they left) who left in the period; the mean,
  and the same for all ages.
- Attendance rate: days present out of days recorded (present, reported, valid, not valid).
- Absences by reason: absence days reported in the period, per reason.
- Unexcused streaks: per aspirant, the longest run of unexcused working days in the period.
- No-shows: bookings of information sessions in the period marked no-show, out of those
  marked attended or no-show.
- Reminders: outbox messages due in the period, by outcome (and skip reason).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar
from bot.models import (
    AbsenceReport,
    AttendanceRecord,
    AttendanceStatus,
    Booking,
    BookingStatus,
    Enrolment,
    ExitFollowUp,
    FollowUpOutcome,
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

# How a first plan's five-day guarantee was met, in the order it is credited.
MET_BY = ("plan", "work", "studies", "measure")
CLOSING_EXITS = ("work", "studies", "other")
# Left out of "closed within 12 months": sent back, or stopped using the service.
EXCLUDED_EXITS = ("returned", "stopped")
YOUNG = (16, 24)
MONTHS_CLOSED = 12


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
    # Met (on time) out of those decided: met, or whose deadline passed.
    on_time: Share = field(default_factory=Share)
    # Not met and not yet due on the day the figures are made.
    pending: int = 0
    days_to_done: list[int] = field(default_factory=list)
    # Left the job centre before the deadline without meeting it (not counted).
    left_before_due: int = 0
    # Marked finished by the coach, waiting for the aspirant's confirmation.
    awaiting_confirmation: int = 0
    # First plan: how the guarantee was met (plan, work, studies, measure).
    met_by: Counter[str] = field(default_factory=Counter)
    # First plan: left for work by the deadline (with or without a plan).
    job_within_deadline: int = 0

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days_to_done) if self.days_to_done else None

    def add(self, other: MilestoneFigures) -> None:
        self.on_time.add(other.on_time)
        self.pending += other.pending
        self.days_to_done += other.days_to_done
        self.left_before_due += other.left_before_due
        self.awaiting_confirmation += other.awaiting_confirmation
        self.met_by.update(other.met_by)
        self.job_within_deadline += other.job_within_deadline

    @property
    def job_within_five_days(self) -> Share:
        """A job within five days, out of every first plan decided."""
        return Share(self.job_within_deadline, self.on_time.total)


@dataclass
class FollowUpFigures:
    # Self-supporting, out of those whose outcome was found out.
    self_supporting: Share = field(default_factory=Share)
    could_not_find_out: int = 0
    not_recorded: int = 0

    def add(self, other: FollowUpFigures) -> None:
        self.self_supporting.add(other.self_supporting)
        self.could_not_find_out += other.could_not_find_out
        self.not_recorded += other.not_recorded


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
    enrolled_without_intake: int = 0
    closed_within_12_months: Share = field(default_factory=Share)
    follow_ups: FollowUpFigures = field(default_factory=FollowUpFigures)
    # Days enrolled of those who left for work or studies in the period: aged 16-24, and all.
    young_days_to_work_or_studies: list[int] = field(default_factory=list)
    days_to_work_or_studies: list[int] = field(default_factory=list)

    def add(self, other: Figures) -> None:
        self.first_plan.add(other.first_plan)
        self.deepened_plan.add(other.deepened_plan)
        self.reviews.add(other.reviews)
        self.attendance.add(other.attendance)
        self.absence_days_by_reason.update(other.absence_days_by_reason)
        self.longest_unexcused_streaks += other.longest_unexcused_streaks
        self.session_no_shows.add(other.session_no_shows)
        self.reminders.update(other.reminders)
        self.enrolled_without_intake += other.enrolled_without_intake
        self.closed_within_12_months.add(other.closed_within_12_months)
        self.follow_ups.add(other.follow_ups)
        self.young_days_to_work_or_studies += other.young_days_to_work_or_studies
        self.days_to_work_or_studies += other.days_to_work_or_studies

    def aspirants_with_streak(self, at_least: int) -> int:
        return sum(1 for s in self.longest_unexcused_streaks if s >= at_least)

    @property
    def young_mean_days_to_work_or_studies(self) -> float | None:
        return _mean(self.young_days_to_work_or_studies)

    @property
    def mean_days_to_work_or_studies(self) -> float | None:
        return _mean(self.days_to_work_or_studies)


def _mean(values: list[int]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


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
    # The day the figures were made (deadlines from it on are not yet due).
    today: date | None = None


NOT_RECORDED = "not recorded"


def compute(db: Session, first: date, last: date, *, centre_ids: Iterable[int] | None = None,
            coach_id: int | None = None, groups: bool = False,
            today: date | None = None) -> Report:
    """Figures for ``first``..``last`` inclusive, per centre; ``coach_id`` limits to a caseload;
    ``groups`` adds figures by gender and by age band (age reached in the period's last year);
    ``today`` is the day they are made: a deadline on or after it is not yet due (default:
    the period's last day)."""
    if last < first:
        raise ValueError("the period ends before it starts")
    today = today or last
    query = select(JobCentre).order_by(JobCentre.name)
    if centre_ids is not None:
        query = query.where(JobCentre.id.in_(list(centre_ids)))
    centres_in_scope = list(db.scalars(query))
    weekly_attendance: dict[date, Share] = defaultdict(Share)
    weekly_first_plan: dict[date, Share] = defaultdict(Share)
    scope = _Scope(first, last, today, coach_id)
    centres = [_centre(db, centre, scope, weekly_attendance, weekly_first_plan)
               for centre in centres_in_scope]
    total = Figures(name="")
    for figures in centres:
        total.add(figures)
    report = Report(first, last, centres, total, dict(sorted(weekly_attendance.items())),
                    dict(sorted(weekly_first_plan.items())), today=today)
    if groups:
        from bot.services.people import demographics

        genders = {g: Person.gender == g for g in demographics.GENDERS}
        genders[NOT_RECORDED] = Person.gender.is_(None)
        bands = {label: demographics.band_condition(label, last)
                 for label, _low, _high in demographics.AGE_BANDS}
        bands[NOT_RECORDED] = Person.birth_year.is_(None)
        report.by_gender = _grouped(db, centres_in_scope, scope, genders)
        report.by_age_band = _grouped(db, centres_in_scope, scope, bands)
    return report


@dataclass(frozen=True)
class _Scope:
    first: date
    last: date
    today: date
    coach_id: int | None


def _grouped(db: Session, centres: list[JobCentre], scope: _Scope,
             conditions: dict[str, Any]) -> dict[str, Figures]:
    result = {}
    for label, condition in conditions.items():
        group = Figures(name=label)
        for centre in centres:
            group.add(_centre(db, centre, scope, defaultdict(Share), defaultdict(Share),
                              person_condition=condition))
        result[label] = group
    return result


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _centre(db: Session, centre: JobCentre, scope: _Scope,
            weekly_attendance: dict[date, Share], weekly_first_plan: dict[date, Share],
            person_condition: Any = None) -> Figures:
    zone = ZoneInfo(centre.timezone)
    calendar = calendar_for(db, centre.id)
    figures = Figures(name=centre.name)
    first, last = scope.first, scope.last
    enrolments = select(Enrolment.id).where(Enrolment.job_centre_id == centre.id)
    if scope.coach_id is not None:
        enrolments = enrolments.where(Enrolment.coach_id == scope.coach_id)
    if person_condition is not None:
        enrolments = enrolments.where(
            Enrolment.aspirant_id.in_(select(Person.id).where(person_condition)))

    _milestones(db, figures, enrolments, scope, zone, calendar, weekly_first_plan)
    _outcomes(db, figures, enrolments, scope, zone)

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
    if scope.coach_id is None and person_condition is None:
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


def _milestones(db: Session, figures: Figures, enrolments: Any, scope: _Scope, zone: ZoneInfo,
                calendar: WorkCalendar, weekly_first_plan: dict[date, Share]) -> None:
    rows = db.execute(select(PlanMilestone, Enrolment.left_at, Enrolment.exit_reason)
                      .join(Enrolment, Enrolment.id == PlanMilestone.enrolment_id)
                      .where(PlanMilestone.enrolment_id.in_(enrolments),
                             PlanMilestone.cancelled_at.is_(None),
                             PlanMilestone.due_on >= scope.first,
                             PlanMilestone.due_on <= scope.last))
    for milestone, left_at, exit_reason in rows:
        target = {MilestoneKind.FIRST_PLAN: figures.first_plan,
                  MilestoneKind.DEEPENED_PLAN: figures.deepened_plan,
                  MilestoneKind.REVIEW: figures.reviews}[milestone.kind]
        due = milestone.due_on
        done_on = _local(_completed(milestone), zone)
        left_on = _local(left_at, zone)
        left_in_time = left_on is not None and left_on <= due
        met = None
        if done_on is not None and done_on <= due:
            met = "plan"
        elif milestone.kind == MilestoneKind.FIRST_PLAN:
            if left_in_time and exit_reason in ("work", "studies"):
                met = exit_reason
            elif milestone.measure_on is not None and milestone.measure_on <= due:
                met = "measure"
        if milestone.kind == MilestoneKind.FIRST_PLAN and left_in_time and exit_reason == "work":
            target.job_within_deadline += 1
        if milestone.done_at is not None and milestone.confirmed_at is None:
            target.awaiting_confirmation += 1
        if met is not None:
            decided, hit = True, True
            if milestone.kind == MilestoneKind.FIRST_PLAN:
                target.met_by[met] += 1
        elif left_in_time:
            target.left_before_due += 1
            decided = hit = False
        elif due >= scope.today:
            target.pending += 1
            decided = hit = False
        else:
            decided, hit = True, False
        if decided:
            target.on_time.total += 1
            target.on_time.hits += hit
            if milestone.kind == MilestoneKind.FIRST_PLAN:
                weekly = weekly_first_plan[_week(due)]
                weekly.total += 1
                weekly.hits += hit
        if milestone.kind == MilestoneKind.FIRST_PLAN and done_on is not None:
            target.days_to_done.append(calendar.count_working_days(milestone.counted_from,
                                                                   done_on))


def _completed(milestone: PlanMilestone) -> datetime | None:
    if milestone.done_at is None or milestone.confirmed_at is None:
        return None
    return max(milestone.done_at, milestone.confirmed_at)


def _outcomes(db: Session, figures: Figures, enrolments: Any, scope: _Scope,
              zone: ZoneInfo) -> None:
    """Intakes missing, closed within 12 months, self-supporting, time to work or studies."""
    from bot.services.plans.milestones import add_months

    first, last = scope.first, scope.last
    start, end = _utc_bounds(first, last, zone)
    # Anyone enrolled 12 months before the period's end may have their anniversary in it.
    earliest = datetime.combine(add_months(first, -MONTHS_CLOSED) - timedelta(days=1),
                                datetime.min.time(), tzinfo=zone)
    rows = db.execute(
        select(Enrolment, Person.birth_year)
        .join(Person, Person.id == Enrolment.aspirant_id)
        .where(Enrolment.id.in_(enrolments), Enrolment.enrolled_at < end,
               or_(Enrolment.left_at.is_(None), Enrolment.left_at >= start,
                   Enrolment.enrolled_at >= earliest)))
    for enrolment, birth_year in rows:
        enrolled_on = _local(enrolment.enrolled_at, zone)
        left_on = _local(enrolment.left_at, zone)
        assert enrolled_on is not None
        active = left_on is None or left_on >= first
        if active and enrolment.intake_on is None:
            figures.enrolled_without_intake += 1
        _closed_within_a_year(figures, enrolment.exit_reason, enrolled_on, left_on, scope)
        if (left_on is not None and first <= left_on <= last
                and enrolment.exit_reason in ("work", "studies")):
            days = (left_on - enrolled_on).days
            figures.days_to_work_or_studies.append(days)
            if birth_year is not None and YOUNG[0] <= left_on.year - birth_year <= YOUNG[1]:
                figures.young_days_to_work_or_studies.append(days)
    follow_ups = db.scalars(select(ExitFollowUp).where(
        ExitFollowUp.enrolment_id.in_(enrolments), ExitFollowUp.due_on >= first,
        ExitFollowUp.due_on <= last))
    for follow_up in follow_ups:
        if follow_up.outcome == FollowUpOutcome.SELF_SUPPORTING:
            figures.follow_ups.self_supporting.hits += 1
            figures.follow_ups.self_supporting.total += 1
        elif follow_up.outcome == FollowUpOutcome.NOT_SELF_SUPPORTING:
            figures.follow_ups.self_supporting.total += 1
        elif follow_up.outcome == FollowUpOutcome.UNKNOWN:
            figures.follow_ups.could_not_find_out += 1
        elif follow_up.due_on < scope.today:
            figures.follow_ups.not_recorded += 1


def _closed_within_a_year(figures: Figures, exit_reason: str | None, enrolled_on: date,
                          left_on: date | None, scope: _Scope) -> None:
    from bot.services.plans.milestones import add_months

    anniversary = add_months(enrolled_on, MONTHS_CLOSED)
    if not scope.first <= anniversary <= scope.last:
        return
    within = left_on is not None and left_on <= anniversary
    if within and exit_reason in EXCLUDED_EXITS:
        return
    if within and exit_reason in CLOSING_EXITS:
        figures.closed_within_12_months.hits += 1
        figures.closed_within_12_months.total += 1
    elif anniversary >= scope.today:
        return  # still enrolled, and the twelve months are not over
    else:
        figures.closed_within_12_months.total += 1


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
