"""The day's attendance work at each job centre, decided from the time alone.

``run_due(db, now)`` is asked at short intervals by the scheduler. On a check-in
day it queues the coaches' digest at the set time, and once the window and the
grace period have passed it detects absences: everyone whose requirement has started
(the day after their intake) who neither checked in nor reported an absence is
recorded absent and asked why at once. Ask first: the coaches' alerts wait the centre's
delay (``alert_delay_minutes``) for the answers, then go out with each answer in them,
or "no answer"; repeated absences without a reason escalate to the team leads at that
moment too. A reported absence is recorded as "reported" for the coach to judge, never
as valid by itself. Each step runs once per centre and day (``AttendanceDay``), so
asking twice changes nothing. No work is done on holidays or closed days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar, at_local, local_date
from bot.i18n import N_
from bot.models import (
    AbsenceReport,
    AttendancePolicy,
    AttendanceRecord,
    AttendanceStatus,
    Enrolment,
    JobCentre,
    Judgement,
    Person,
)
from bot.services.attendance import absences, caseload, coach_alerts, follow_up, weekly
from bot.services.attendance import policy as attendance_policy
from bot.services.attendance.day_steps import claim_step, day_row
from bot.services.attendance.policy import Day
from bot.services.centres import centres
from bot.services.centres.calendars import calendar_for
from bot.services.messaging import outbox

log = logging.getLogger(__name__)

# A morning digest that could not go out this long after its time is no longer useful.
DIGEST_LATE_LIMIT = timedelta(hours=2)
# The aspirant can answer "why?" until this long after the check-in closed.
WHY_VALID_FOR = timedelta(hours=14)

WHY_KIND = "absence_why"
DIGEST_KIND = "attendance_digest"
ESCALATION_KIND = "attendance_escalation"

STREAK = "streak"
WINDOW = "window"

WHY_TEMPLATE = N_("We did not see you at the job centre today ({date}), and you did not report "
                  "an absence. Why were you absent? Please choose:")
DIGEST_FALLBACK = N_("Good morning! You follow {count} aspirants at {centre}. Open /caseload "
                     "for today's overview.")
ESCALATION_TEMPLATES = {
    STREAK: N_("Repeated absence: {name} ({centre}) has been absent without an excuse "
               "{count} check-in days in a row. Their coach has been told."),
    WINDOW: N_("Repeated absence: {name} ({centre}) has been absent without an excuse "
               "{count} times in the last {days} check-in days. Their coach has been told."),
}


@dataclass
class Report:
    """What one run queued (for logs and tests)."""

    detected_days: int = 0
    absent: int = 0
    # Absences reported in advance: recorded "reported" (or as the coach judged the report).
    reported: int = 0
    alerts: int = 0
    escalations: int = 0
    resent: int = 0
    digests: int = 0
    weekly: int = 0

    @property
    def queued(self) -> int:
        return (self.absent + self.alerts + self.escalations + self.resent + self.digests
                + self.weekly)


def run_due(db: Session, now: datetime) -> Report:
    report = Report()
    for centre in centres.active(db):
        policy = attendance_policy.policy_for(db, now, centre.id)
        calendar = calendar_for(db, centre.id)
        zone = attendance_policy.zone_of(centre)
        day = attendance_policy.day_at(policy, calendar, zone, local_date(now, zone))
        report.weekly += weekly.send_due(db, now, centre, policy, calendar)
        if not day.is_attendance_day:
            continue
        if policy.digest_time is not None:
            digest_at = at_local(day.day, policy.digest_time, zone)
            if digest_at <= now < digest_at + DIGEST_LATE_LIMIT:
                report.digests += send_digests(db, now, centre, day.day)
        if now > day.cutoff:
            detect(db, now, centre, report)
            send_alerts(db, now, centre, report)
    report.resent = coach_alerts.resend_due(db, now)
    return report


# --- the morning digest -----------------------------------------------------------------
def send_digests(db: Session, now: datetime, centre: JobCentre, day: date) -> int:
    row = day_row(db, centre.id, day)
    if row is not None and row.digest_at is not None:
        return 0
    if not claim_step(db, now, centre.id, day, "digest_at"):
        return 0
    sent = 0
    for coach in caseload.coaches_at(db, centre.id):
        view = caseload.digest_view(db, now, coach, centre)
        if view is None:
            continue
        outbox.enqueue(db, now, coach, DIGEST_FALLBACK, kind=DIGEST_KIND, params=view,
                       dedupe_key=f"digest:{coach.id}:{centre.id}:{day.isoformat()}",
                       expires_at=coach_alerts.end_of_day(day, centre))
        sent += 1
    return sent


# --- detecting absences -----------------------------------------------------------------
def detect(db: Session, now: datetime, centre: JobCentre, report: Report | None = None
           ) -> Report:
    """Detect the day's absences at the centre, once; ``now`` must be after the cutoff.

    The absent are asked why at once; their followers' alerts are prepared, and sent by
    ``send_alerts`` after the wait for the answers."""
    report = report or Report()
    policy, day = attendance_policy.today_at(db, centre, now)
    if not day.is_attendance_day or now <= day.cutoff:
        return report
    row = day_row(db, centre.id, day.day)
    if row is not None and row.detected_at is not None:
        return report
    if not claim_step(db, now, centre.id, day.day, "detected_at"):
        return report
    report.detected_days += 1
    required = list(db.execute(
        select(Enrolment, Person)
        .join(Person, Person.id == Enrolment.aspirant_id)
        .where(Enrolment.job_centre_id == centre.id, Enrolment.left_at.is_(None),
               Enrolment.attendance_required.is_(True),
               # The requirement starts the day after the intake: nobody is absent before.
               Enrolment.intake_on.is_not(None), Enrolment.intake_on < day.day,
               # Someone enrolled after the window opened had no chance to check in.
               Enrolment.enrolled_at <= day.opens, Person.erased_at.is_(None))
        .order_by(Enrolment.id)
    ))
    ids = [enrolment.id for enrolment, _ in required]
    recorded = set(db.scalars(select(AttendanceRecord.enrolment_id).where(
        AttendanceRecord.enrolment_id.in_(ids), AttendanceRecord.day == day.day))) if ids else set()
    reported = absences.covering(db, ids, day.day)
    missing: list[tuple[Enrolment, Person, AttendanceRecord]] = []
    for enrolment, person in required:
        if enrolment.id in recorded:
            continue
        absence = reported.get(enrolment.id)
        record = AttendanceRecord(enrolment_id=enrolment.id, day=day.day, recorded_at=now,
                                  recorded_by_id=None, method=None,
                                  status=AttendanceStatus.UNEXCUSED,
                                  absence_report_id=absence.id if absence else None)
        if absence is not None:
            # A reason given in advance is reported, not valid: the coach judges (perhaps
            # already did, on the report).
            record.status = _status_of_report(absence)
            record.judged_by_id, record.judged_at = absence.judged_by_id, absence.judged_at
            report.reported += 1
        else:
            missing.append((enrolment, person, record))
        db.add(record)
    db.flush()
    reasons = [r.value for r in attendance_policy.reasons_of(policy)]
    for _, person, record in missing:
        _ask_why(db, now, person, record, day, reasons)
        report.absent += 1
    _prepare_alerts(db, now, centre, day, missing)
    log.info("centre %s %s: %d absent, %d reported", centre.id, day.day, len(missing),
             report.reported)
    return report


def _status_of_report(absence: AbsenceReport) -> AttendanceStatus:
    if absence.judgement == Judgement.VALID:
        return AttendanceStatus.EXCUSED
    if absence.judgement == Judgement.NOT_VALID:
        return AttendanceStatus.UNEXCUSED
    return AttendanceStatus.REPORTED


def _ask_why(db: Session, now: datetime, aspirant: Person, record: AttendanceRecord,
             day: Day, reasons: list[str]) -> None:
    outbox.enqueue(db, now, aspirant, WHY_TEMPLATE, kind=WHY_KIND,
                   params={"date": day.day, "record": record.id, "reasons": reasons},
                   dedupe_key=f"why:{record.id}", expires_at=day.cutoff + WHY_VALID_FOR)


def _prepare_alerts(db: Session, now: datetime, centre: JobCentre, day: Day,
                    missing: list[tuple[Enrolment, Person, AttendanceRecord]]) -> None:
    """One alert per follower (the coach, or the team leads without one) for the day,
    listing their absent aspirants; sent later by ``send_alerts``."""
    for enrolment, _, record in missing:
        for follower in follow_up.followers(db, enrolment):
            alert, _created = coach_alerts.get_or_create(db, now, follower, centre, day.day)
            coach_alerts.add_item(db, alert, enrolment, record, [])


# --- the coaches' alerts, after the wait for the answers ----------------------------------
def send_alerts(db: Session, now: datetime, centre: JobCentre, report: Report | None = None
                ) -> Report:
    """Once the wait after detection is over: each prepared alert goes out with the
    answers given so far, and absences still without a reason escalate."""
    report = report or Report()
    policy, day = attendance_policy.today_at(db, centre, now)
    row = day_row(db, centre.id, day.day)
    if row is None or row.detected_at is None or row.alerted_at is not None:
        return report
    if now < row.detected_at + timedelta(minutes=policy.alert_delay_minutes):
        return report
    if not claim_step(db, now, centre.id, day.day, "alerted_at"):
        return report
    calendar = calendar_for(db, centre.id)
    alerts = coach_alerts.unsent(db, centre.id, day.day)
    records = {item.record_id: (item, record) for alert, items in alerts
               for item, record in items}
    # Only absences still without a reason count towards escalation.
    silent = sorted({record.enrolment_id for _, record in records.values()
                     if record.status == AttendanceStatus.UNEXCUSED
                     and record.absence_report_id is None})
    escalations = _escalations(db, policy, calendar, day.day, silent)
    for alert, items in alerts:
        for item, record in items:
            rules = escalations.get(record.enrolment_id, [])
            item.escalation = ",".join(rules) or None
        coach = db.get(Person, alert.coach_id)
        alert.sent_at = now
        if coach is None or coach.erased_at is not None:
            continue
        coach_alerts.send(db, now, alert, coach)
        report.alerts += 1
    db.flush()
    report.escalations += _escalate(db, now, centre, day, policy, escalations)
    return report


def _escalations(db: Session, policy: AttendancePolicy, calendar: WorkCalendar, day: date,
                 enrolment_ids: list[int]) -> dict[int, list[str]]:
    """The rules each absence reaches today: a rule fires on the day its count is reached."""
    if not enrolment_ids or not (policy.streak_limit or policy.window_limit):
        return {}
    span = max(policy.window_days, policy.streak_limit + 1)
    days = attendance_policy.attendance_days_back(policy, calendar, day, span)
    unexcused = set(db.execute(
        select(AttendanceRecord.enrolment_id, AttendanceRecord.day)
        .where(AttendanceRecord.enrolment_id.in_(enrolment_ids), AttendanceRecord.day.in_(days),
               AttendanceRecord.status == AttendanceStatus.UNEXCUSED)
    ))
    found: dict[int, list[str]] = {}
    for enrolment_id in enrolment_ids:
        streak = 0
        for past in days:
            if (enrolment_id, past) not in unexcused:
                break
            streak += 1
        count = sum(1 for past in days[:policy.window_days] if (enrolment_id, past) in unexcused)
        rules = []
        if policy.streak_limit and streak == policy.streak_limit:
            rules.append(STREAK)
        if policy.window_limit and count == policy.window_limit:
            rules.append(WINDOW)
        if rules:
            found[enrolment_id] = rules
    return found


def _escalate(db: Session, now: datetime, centre: JobCentre, day: Day, policy: AttendancePolicy,
              escalations: dict[int, list[str]]) -> int:
    """Tell the team leads; the coach reads the escalation in their alert."""
    if not escalations:
        return 0
    leads = follow_up.team_leads_at(db, centre.id)
    sent = 0
    for enrolment_id, rules in sorted(escalations.items()):
        enrolment = db.get(Enrolment, enrolment_id)
        assert enrolment is not None
        person = enrolment.aspirant
        alerted = {p.id for p in follow_up.followers(db, enrolment)}
        for rule in rules:
            count = policy.streak_limit if rule == STREAK else policy.window_limit
            for lead in leads:
                if lead.id in alerted:
                    continue
                queued = outbox.enqueue(
                    db, now, lead, ESCALATION_TEMPLATES[rule], kind=ESCALATION_KIND,
                    params={"name": person.display_name or "?", "centre": centre.name,
                            "count": count, "days": policy.window_days},
                    dedupe_key=f"esc:{enrolment.id}:{day.day.isoformat()}:{rule}:{lead.id}")
                sent += queued is not None
    return sent
