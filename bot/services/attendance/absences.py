"""Absence reports: in advance, on the day, or as the answer when asked why.

A report gives the reason; it never makes an absence valid by itself. Whether an
absence is valid (giltig frånvaro) is for the coach — in the end social services — to
judge: the day stays "reported" until the coach marks it valid or not valid. The coach
(or, without one, the team leads) hears of an advance report at once through the
outbox; an answer to "why were you absent?" reaches them in the day's alert, or
updates it if the alert has gone out already.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import local_date
from bot.errors import DomainError
from bot.i18n import N_, Term
from bot.models import (
    AbsenceReason,
    AbsenceReport,
    AttendanceRecord,
    AttendanceStatus,
    Enrolment,
    Person,
)
from bot.services.attendance import coach_alerts, follow_up
from bot.services.attendance import policy as attendance_policy
from bot.services.attendance.checkin import enrolment_of
from bot.services.centres.calendars import calendar_for
from bot.services.messaging import outbox
from bot.services.system import audit

NOTE_LIMIT = 500
# How far ahead an absence can be reported, and how long one report may be.
MAX_AHEAD = timedelta(days=60)
MAX_DAYS = 31

REASON_LABELS: dict[AbsenceReason, str] = {
    AbsenceReason.ILL: N_("Ill"),
    AbsenceReason.SICK_CHILD: N_("Sick child"),
    AbsenceReason.JOB_INTERVIEW: N_("Job interview"),
    AbsenceReason.APPOINTMENT: N_("Other appointment"),
    AbsenceReason.OTHER: N_("Other reason"),
}
# One letter per reason for button data.
REASON_CODES: dict[str, AbsenceReason] = {
    "i": AbsenceReason.ILL,
    "c": AbsenceReason.SICK_CHILD,
    "j": AbsenceReason.JOB_INTERVIEW,
    "a": AbsenceReason.APPOINTMENT,
    "o": AbsenceReason.OTHER,
}
CODE_OF_REASON = {reason: code for code, reason in REASON_CODES.items()}


def reason_param(reason: AbsenceReason) -> Term:
    """The reason as a message parameter, translated in the reader's language."""
    return Term(REASON_LABELS[reason])


def clean_note(reason: AbsenceReason, note: str | None) -> str | None:
    if reason != AbsenceReason.OTHER:
        return None
    note = (note or "").strip()
    if not note:
        raise DomainError(N_("Please write the reason in a few words."))
    if len(note) > NOTE_LIMIT:
        raise DomainError(N_("Please keep it shorter: at most {limit} characters."),
                          limit=NOTE_LIMIT)
    return note


def today_of(db: Session, now: datetime, enrolment: Enrolment) -> date:
    return local_date(now, attendance_policy.zone_of(enrolment.job_centre))


def offered_reasons(db: Session, now: datetime, centre_id: int) -> list[AbsenceReason]:
    """The reasons the job centre offers (an admin's choice; "other" always)."""
    policy = attendance_policy.policy_for(db, now, centre_id)
    return attendance_policy.reasons_of(policy)


def first_reportable_day(db: Session, now: datetime, enrolment: Enrolment) -> date:
    """Today, or the first day of the daily requirement if it starts later; refuses when
    the requirement has not started and no intake is recorded yet."""
    today = today_of(db, now, enrolment)
    if not enrolment.attendance_required:
        return today
    starts = attendance_policy.attendance_starts_on(enrolment)
    if starts is None:
        raise DomainError(N_("Your daily check-in starts the day after your group "
                             "information session, so there is no absence to report yet. If "
                             "you cannot come to the information session, use “My schedule”."))
    return max(today, starts)


def selectable_days(db: Session, now: datetime, enrolment: Enrolment, *, count: int = 10
                    ) -> list[date]:
    """Today (or the first day of the requirement) and the next check-in days, for the
    aspirant to choose from."""
    policy = attendance_policy.policy_for(db, now, enrolment.job_centre_id)
    calendar = calendar_for(db, enrolment.job_centre_id)
    today = today_of(db, now, enrolment)
    days = []
    day = first_reportable_day(db, now, enrolment)
    while len(days) < count and day <= today + MAX_AHEAD:
        if attendance_policy.is_attendance_day(policy, calendar, day):
            days.append(day)
        day += timedelta(days=1)
    return days


def report(db: Session, now: datetime, aspirant: Person, reason: AbsenceReason, first: date,
           last: date, note: str | None = None) -> AbsenceReport:
    enrolment = enrolment_of(db, aspirant)
    note = clean_note(reason, note)
    today = today_of(db, now, enrolment)
    if first < today:
        raise DomainError(N_("An absence can be reported for today or later. For earlier days, "
                             "please talk to your coach."))
    starts = first_reportable_day(db, now, enrolment)
    if first < starts:
        raise DomainError(N_("Your daily check-in starts on {date}. There is nothing to report "
                             "before then."), date=starts)
    if reason not in offered_reasons(db, now, enrolment.job_centre_id):
        raise DomainError(N_("Please choose one of the reasons shown."))
    if last < first:
        raise DomainError(N_("The last day must not be before the first day."))
    if last > today + MAX_AHEAD:
        raise DomainError(N_("That is too far ahead. Please report absences at most two months "
                             "ahead."))
    if (last - first).days + 1 > MAX_DAYS:
        raise DomainError(N_("Please report at most {days} days at once."), days=MAX_DAYS)
    _refuse_second_reason(db, enrolment.id, first, last)
    record = _day_record(db, enrolment.id, today) if first == today else None
    if record is not None and record.status == AttendanceStatus.PRESENT:
        raise DomainError(N_("You have already checked in today, so you are not absent today."))
    absence = AbsenceReport(enrolment_id=enrolment.id, first_day=first, last_day=last,
                            reason=reason, note=note, reported_at=now,
                            reported_by_id=aspirant.id)
    db.add(absence)
    db.flush()
    audit.record(db, now, "absence.report", actor=aspirant, subject=absence,
                 reason=reason.value, days=(last - first).days + 1)
    # Today's absence may already have been detected: the report then explains it.
    if record is not None:
        _explain_record(db, now, enrolment, aspirant, record, absence)
    else:
        _tell_followers_reported(db, now, enrolment, aspirant, absence)
    return absence


def _refuse_second_reason(db: Session, enrolment_id: int, first: date, last: date) -> None:
    """A day has one reason: a second report for it is refused (the coach can be told
    more in person)."""
    overlapping = db.scalar(select(AbsenceReport).where(
        AbsenceReport.enrolment_id == enrolment_id, AbsenceReport.first_day <= last,
        AbsenceReport.last_day >= first).order_by(AbsenceReport.first_day).limit(1))
    explained = db.scalar(select(AttendanceRecord.day).where(
        AttendanceRecord.enrolment_id == enrolment_id, AttendanceRecord.day >= first,
        AttendanceRecord.day <= last, AttendanceRecord.absence_report_id.is_not(None))
        .order_by(AttendanceRecord.day).limit(1))
    if overlapping is not None or explained is not None:
        day = max(first, overlapping.first_day) if overlapping is not None else explained
        raise DomainError(N_("You have already reported an absence on {date}. If something "
                             "has changed, please tell your coach."), date=day)


def explain(db: Session, now: datetime, aspirant: Person, record_id: int,
            reason: AbsenceReason, note: str | None = None) -> AbsenceReport:
    """The aspirant's answer to "why were you absent?" for a detected absence."""
    record, enrolment = check_explainable(db, aspirant, record_id)
    note = clean_note(reason, note)
    if reason not in offered_reasons(db, now, enrolment.job_centre_id):
        raise DomainError(N_("Please choose one of the reasons shown."))
    absence = AbsenceReport(enrolment_id=enrolment.id, first_day=record.day,
                            last_day=record.day, reason=reason, note=note, reported_at=now,
                            reported_by_id=aspirant.id)
    db.add(absence)
    db.flush()
    audit.record(db, now, "absence.explain", actor=aspirant, subject=absence,
                 reason=reason.value, record=record.id)
    _explain_record(db, now, enrolment, aspirant, record, absence)
    return absence


class NotExplainable(DomainError):
    """The question "why were you absent?" is closed; its buttons should go."""


def check_explainable(db: Session, aspirant: Person, record_id: int
                      ) -> tuple[AttendanceRecord, Enrolment]:
    """The aspirant's detected absence that still waits for their reason, or refuse.

    A reason is taken even after the coach judged the day (it reaches the coach, the
    judgement stays theirs); not when the coach recorded the aspirant as present."""
    record = db.get(AttendanceRecord, record_id)
    enrolment = db.get(Enrolment, record.enrolment_id) if record is not None else None
    if record is None or enrolment is None or enrolment.aspirant_id != aspirant.id:
        raise NotExplainable(N_("This question is no longer open."))
    if record.status == AttendanceStatus.PRESENT:
        raise NotExplainable(N_("Your coach has recorded you as present on {date}, so there "
                                "is nothing to explain. Thank you!"), date=record.day)
    if record.absence_report_id is not None:
        raise NotExplainable(N_("You have already told us why. Thank you!"))
    return record, enrolment


def covering(db: Session, enrolment_ids: list[int], day: date) -> dict[int, AbsenceReport]:
    """The latest report covering ``day`` for each of the enrolments that has one."""
    if not enrolment_ids:
        return {}
    reports = db.scalars(
        select(AbsenceReport)
        .where(AbsenceReport.enrolment_id.in_(enrolment_ids), AbsenceReport.first_day <= day,
               AbsenceReport.last_day >= day)
        .order_by(AbsenceReport.reported_at, AbsenceReport.id)
    )
    return {absence.enrolment_id: absence for absence in reports}


def upcoming(db: Session, now: datetime, enrolment: Enrolment) -> list[AbsenceReport]:
    today = today_of(db, now, enrolment)
    return list(db.scalars(
        select(AbsenceReport)
        .where(AbsenceReport.enrolment_id == enrolment.id, AbsenceReport.last_day >= today)
        .order_by(AbsenceReport.first_day)
    ))


def _day_record(db: Session, enrolment_id: int, day: date) -> AttendanceRecord | None:
    return db.scalar(select(AttendanceRecord).where(
        AttendanceRecord.enrolment_id == enrolment_id, AttendanceRecord.day == day))


def _explain_record(db: Session, now: datetime, enrolment: Enrolment, aspirant: Person,
                    record: AttendanceRecord, absence: AbsenceReport) -> None:
    """A detected absence gets its reason: reported, for the coach to judge (a judgement
    the coach made already stays). The coach hears it in the day's alert."""
    record.absence_report_id = absence.id
    if record.judged_by_id is None:
        record.status = AttendanceStatus.REPORTED
    db.flush()
    if not coach_alerts.on_answer(db, now, record):
        # No alert lists this day (e.g. the coach marked it before): a notice of its own.
        _tell_followers_explained(db, now, enrolment, aspirant, record, absence)


def _tell_followers_reported(db: Session, now: datetime, enrolment: Enrolment, aspirant: Person,
                             absence: AbsenceReport) -> None:
    if absence.first_day == absence.last_day:
        template = (N_("{name} reported an absence on {date}: {reason} ({note}).")
                    if absence.note else N_("{name} reported an absence on {date}: {reason}."))
    else:
        template = (N_("{name} reported an absence from {first} to {last}: {reason} ({note}).")
                    if absence.note else
                    N_("{name} reported an absence from {first} to {last}: {reason}."))
    params = {"name": aspirant.display_name or "?", "date": absence.first_day,
              "first": absence.first_day, "last": absence.last_day,
              "reason": reason_param(absence.reason), "note": absence.note or "",
              "report": absence.id}
    for person in follow_up.followers(db, enrolment):
        outbox.enqueue(db, now, person, template, kind="absence_notice", params=params,
                       event_key=f"absence:{absence.id}")


def _tell_followers_explained(db: Session, now: datetime, enrolment: Enrolment,
                              aspirant: Person, record: AttendanceRecord,
                              absence: AbsenceReport) -> None:
    template = (N_("{name} explained the absence on {date}: {reason} ({note}).")
                if absence.note else N_("{name} explained the absence on {date}: {reason}."))
    params = {"name": aspirant.display_name or "?", "date": record.day,
              "reason": reason_param(absence.reason), "note": absence.note or "",
              "record": record.id}
    for person in follow_up.followers(db, enrolment):
        outbox.enqueue(db, now, person, template, kind="absence_explained", params=params,
                       event_key=f"absence:{absence.id}")
