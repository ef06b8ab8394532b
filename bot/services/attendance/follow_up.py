"""Who follows up an aspirant, and what they can record about their attendance.

Every action re-checks that the actor follows up the aspirant (their coach, or a
team lead or admin of the job centre): ids in button data are never trusted.
Manual changes go to the audit log with ids only.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.calendar import local_date
from bot.errors import DomainError, NotFound
from bot.i18n import N_
from bot.models import (
    AbsenceReport,
    AttendanceNote,
    AttendanceRecord,
    AttendanceStatus,
    CheckInMethod,
    CoachAlert,
    CoachAlertItem,
    Enrolment,
    Judgement,
    Person,
    Role,
    RoleGrant,
)
from bot.services.attendance import policy as attendance_policy
from bot.services.centres.calendars import calendar_for
from bot.services.reminders import planner as reminders
from bot.services.system import audit

NOTE_LIMIT = 1000
LEAD_ROLES = (Role.TEAM_LEAD, Role.ADMIN)


def team_leads_at(db: Session, job_centre_id: int) -> list[Person]:
    return list(db.scalars(
        select(Person)
        .join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(RoleGrant.role == Role.TEAM_LEAD,
               (RoleGrant.job_centre_id == job_centre_id) | RoleGrant.job_centre_id.is_(None),
               Person.erased_at.is_(None))
        .order_by(Person.id)
        .distinct()
    ))


def followers(db: Session, enrolment: Enrolment) -> list[Person]:
    """Who hears about the aspirant's absences: their coach, or without one the team leads."""
    coach = enrolment.coach
    if coach is not None and coach.erased_at is None:
        return [coach]
    return team_leads_at(db, enrolment.job_centre_id)


def may_follow_up(person: Person, enrolment: Enrolment) -> bool:
    if enrolment.coach_id == person.id and person.has_role(Role.COACH, *LEAD_ROLES):
        return True
    return any(grant.role in LEAD_ROLES and grant.job_centre_id in (None, enrolment.job_centre_id)
               for grant in person.roles)


def enrolment_for(db: Session, actor: Person, enrolment_id: int) -> Enrolment:
    """The enrolment, if the actor follows it up; otherwise it does not exist for them."""
    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is None or not may_follow_up(actor, enrolment):
        raise NotFound(N_("This aspirant is not in your caseload (any more)."))
    return enrolment


def _check_day(db: Session, now: datetime, enrolment: Enrolment, day: date) -> None:
    centre = enrolment.job_centre
    zone = attendance_policy.zone_of(centre)
    if day > local_date(now, zone):
        raise DomainError(N_("Attendance cannot be recorded for a day in the future."))
    policy = attendance_policy.policy_for(db, now, centre.id)
    if not attendance_policy.is_attendance_day(policy, calendar_for(db, centre.id), day):
        raise DomainError(N_("{date} is not a check-in day at the job centre."), date=day)
    if day < local_date(enrolment.enrolled_at, zone):
        raise DomainError(N_("The aspirant was not enrolled yet on {date}."), date=day)
    starts = attendance_policy.attendance_starts_on(enrolment)
    if starts is None:
        raise DomainError(N_("This aspirant has no daily check-in yet: it starts the day "
                             "after the intake (the group information session or the "
                             "three-party meeting)."))
    if day < starts:
        raise DomainError(N_("The daily check-in of this aspirant starts on {date}."),
                          date=starts)


# What a coach's action on a day is called on the day's alert.
ACTIONS = {AttendanceStatus.PRESENT: "present", AttendanceStatus.EXCUSED: "valid",
           AttendanceStatus.UNEXCUSED: "not_valid"}
JUDGED = {Judgement.VALID: AttendanceStatus.EXCUSED,
          Judgement.NOT_VALID: AttendanceStatus.UNEXCUSED}


def mark(db: Session, now: datetime, actor: Person, enrolment_id: int, day: date,
         status: AttendanceStatus) -> AttendanceRecord:
    """Record a day by hand: present, or an absence judged valid (EXCUSED) or not valid
    (UNEXCUSED). The coach's judgement can be changed the same way."""
    if status not in ACTIONS:
        raise DomainError(N_("Unknown attendance status."))
    enrolment = enrolment_for(db, actor, enrolment_id)
    _check_day(db, now, enrolment, day)
    record = db.scalar(select(AttendanceRecord).where(AttendanceRecord.enrolment_id == enrolment.id,
                                                      AttendanceRecord.day == day))
    previous = record.status.value if record is not None else None
    if record is None:
        record = AttendanceRecord(enrolment_id=enrolment.id, day=day)
        # An absence reported for the day (not detected yet) stays linked to its reason.
        covering = absences_covering(db, enrolment.id, day)
        if covering is not None and status != AttendanceStatus.PRESENT:
            record.absence_report_id = covering.id
        db.add(record)
    record.status = status
    record.method = CheckInMethod.MANUAL if status == AttendanceStatus.PRESENT else None
    record.recorded_at = now
    record.recorded_by_id = actor.id
    if status == AttendanceStatus.PRESENT:
        record.judged_by_id = record.judged_at = None
    else:
        record.judged_by_id, record.judged_at = actor.id, now
    db.flush()
    audit.record(db, now, "attendance.mark", actor=actor, subject=record,
                 enrolment=enrolment.id, day=day.isoformat(), status=status.value,
                 previous=previous)
    _resolve_items(db, now, actor, enrolment.id, day, ACTIONS[status])
    return record


def absences_covering(db: Session, enrolment_id: int, day: date) -> AbsenceReport | None:
    return db.scalar(select(AbsenceReport).where(
        AbsenceReport.enrolment_id == enrolment_id, AbsenceReport.first_day <= day,
        AbsenceReport.last_day >= day).order_by(AbsenceReport.reported_at.desc(),
                                                AbsenceReport.id.desc()).limit(1))


def judge_record(db: Session, now: datetime, actor: Person, record_id: int,
                 judgement: Judgement) -> AttendanceRecord:
    """The coach judges a recorded absence valid or not valid (and can change it)."""
    record = db.get(AttendanceRecord, record_id)
    if record is None:
        raise NotFound(N_("This aspirant is not in your caseload (any more)."))
    enrolment_for(db, actor, record.enrolment_id)
    if record.status == AttendanceStatus.PRESENT:
        raise DomainError(N_("This day is recorded as present, so there is no absence to "
                             "judge."))
    return mark(db, now, actor, record.enrolment_id, record.day, JUDGED[judgement])


def judge_report(db: Session, now: datetime, actor: Person, report_id: int,
                 judgement: Judgement) -> AbsenceReport:
    """The coach judges a reported absence, for every day it covers: the days already
    recorded change now, the later ones are recorded so when they come."""
    report = db.get(AbsenceReport, report_id)
    if report is None:
        raise NotFound(N_("This aspirant is not in your caseload (any more)."))
    enrolment_for(db, actor, report.enrolment_id)
    previous = report.judgement.value if report.judgement is not None else None
    report.judgement = judgement
    report.judged_by_id, report.judged_at = actor.id, now
    status = JUDGED[judgement]
    days = []
    for record in db.scalars(select(AttendanceRecord).where(
            AttendanceRecord.absence_report_id == report.id,
            AttendanceRecord.status != AttendanceStatus.PRESENT)):
        record.status = status
        record.judged_by_id, record.judged_at = actor.id, now
        days.append(record.day)
    db.flush()
    audit.record(db, now, "absence.judge", actor=actor, subject=report,
                 judgement=judgement.value, previous=previous)
    for day in days:
        _resolve_items(db, now, actor, report.enrolment_id, day, ACTIONS[status])
    return report


def contacted(db: Session, now: datetime, actor: Person, enrolment_id: int, day: date) -> None:
    enrolment = enrolment_for(db, actor, enrolment_id)
    audit.record(db, now, "attendance.contacted", actor=actor, subject=enrolment,
                 day=day.isoformat())
    _resolve_items(db, now, actor, enrolment.id, day, "contacted")


def add_note(db: Session, now: datetime, actor: Person, enrolment_id: int, day: date,
             text: str) -> AttendanceNote:
    enrolment = enrolment_for(db, actor, enrolment_id)
    text = (text or "").strip()
    if not text:
        raise DomainError(N_("The note is empty. Please write a few words."))
    if len(text) > NOTE_LIMIT:
        raise DomainError(N_("The note is too long: at most {limit} characters, please."),
                          limit=NOTE_LIMIT)
    note = AttendanceNote(enrolment_id=enrolment.id, day=day, author_id=actor.id, text=text,
                          created_at=now)
    db.add(note)
    db.flush()
    audit.record(db, now, "attendance.note", actor=actor, subject=note, enrolment=enrolment.id)
    _resolve_items(db, now, actor, enrolment.id, day, "noted")
    return note


def notes(db: Session, enrolment_id: int, *, limit: int = 5) -> list[AttendanceNote]:
    return list(db.scalars(select(AttendanceNote)
                           .where(AttendanceNote.enrolment_id == enrolment_id,
                                  AttendanceNote.text.is_not(None))
                           .order_by(AttendanceNote.created_at.desc(), AttendanceNote.id.desc())
                           .limit(limit)))


def forget_notes(db: Session, enrolment_ids: list[int]) -> int:
    """Erasure: blank the coaches' notes about these enrolments; the rows stay, without text."""
    if not enrolment_ids:
        return 0
    result = db.execute(update(AttendanceNote)
                        .where(AttendanceNote.enrolment_id.in_(enrolment_ids))
                        .values(text=None)
                        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def set_requirement(db: Session, now: datetime, actor: Person, enrolment_id: int,
                    required: bool) -> Enrolment:
    """Switch the daily attendance requirement; it counts from the next check-in window."""
    enrolment = enrolment_for(db, actor, enrolment_id)
    if enrolment.left_at is not None:
        raise DomainError(N_("This aspirant has left the job centre."))
    enrolment.attendance_required = required
    db.flush()
    audit.record(db, now, "enrolment.attendance_required", actor=actor, subject=enrolment,
                 required=required)
    # The daily check-in reminders follow the requirement.
    reminders.refresh_check_ins(db, now, enrolment, reason="requirement_changed")
    return enrolment


# --- the coach's alert ------------------------------------------------------------------
def alert_item(db: Session, actor: Person, item_id: int
               ) -> tuple[CoachAlertItem, CoachAlert, Enrolment]:
    item = db.get(CoachAlertItem, item_id)
    if item is None:
        raise NotFound(N_("This aspirant is not in your caseload (any more)."))
    enrolment = enrolment_for(db, actor, item.enrolment_id)
    alert = db.get(CoachAlert, item.alert_id)
    assert alert is not None
    return item, alert, enrolment


def alert_for(db: Session, actor: Person, alert_id: int) -> CoachAlert:
    alert = db.get(CoachAlert, alert_id)
    if alert is None or alert.coach_id != actor.id:
        raise NotFound(N_("This alert is not yours."))
    return alert


def acknowledge(db: Session, now: datetime, alert: CoachAlert) -> None:
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        db.flush()


def _resolve_items(db: Session, now: datetime, actor: Person, enrolment_id: int, day: date,
                   action: str) -> None:
    """What was done counts on that day's alerts: the coach has seen them."""
    rows = db.execute(
        select(CoachAlertItem, CoachAlert)
        .join(CoachAlert, CoachAlert.id == CoachAlertItem.alert_id)
        .where(CoachAlertItem.enrolment_id == enrolment_id, CoachAlert.day == day)
    )
    for item, alert in rows:
        item.action = action
        item.acted_at = now
        item.acted_by_id = actor.id
        acknowledge(db, now, alert)
    db.flush()


def record(db: Session, record_id: int) -> AttendanceRecord | None:
    """An attendance record by id; who may act on it is checked by ``mark``."""
    return db.get(AttendanceRecord, record_id)

