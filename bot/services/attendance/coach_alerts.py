"""The coach's alert: one message per coach, job centre and day listing who did not check in.

Ask first: the alert is prepared when the absences are detected (the aspirants are
asked why at once) and queued after the centre's wait, with each aspirant's answer in
it, or "no answer". An answer that comes after the alert went out sends the alert again,
updated. The message is queued in the outbox with its content as plain data
(``view``), so it is worded in the coach's language when it is sent, and drawn again
from the database when the coach acts on it. An alert nobody acted on is sent again once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import at_local
from bot.i18n import N_
from bot.models import (
    AbsenceReport,
    AttendancePolicy,
    AttendanceRecord,
    CoachAlert,
    CoachAlertItem,
    Enrolment,
    JobCentre,
    Person,
)
from bot.services.attendance import policy as attendance_policy
from bot.services.messaging import outbox

KIND = "attendance_alert"
# Shown only if the message is sent without the attendance views registered.
FALLBACK = N_("Some of your aspirants did not check in today. Open /caseload to follow up.")
FALLBACK_AGAIN = N_("Reminder: some of your aspirants did not check in today, and nothing has "
                    "been done about it yet. Open /caseload to follow up.")
FALLBACK_UPDATED = N_("An aspirant has answered why they were absent. Open /caseload to "
                      "follow up.")
# An answer given late in the evening still reaches the coach the next morning.
ANSWER_UPDATE_VALID = timedelta(hours=12)


def get_or_create(db: Session, now: datetime, coach: Person, centre: JobCentre, day: date
                  ) -> tuple[CoachAlert, bool]:
    alert = db.scalar(select(CoachAlert).where(CoachAlert.coach_id == coach.id,
                                               CoachAlert.job_centre_id == centre.id,
                                               CoachAlert.day == day))
    if alert is not None:
        return alert, False
    alert = CoachAlert(coach_id=coach.id, job_centre_id=centre.id, day=day, created_at=now)
    db.add(alert)
    db.flush()
    return alert, True


def add_item(db: Session, alert: CoachAlert, enrolment: Enrolment, record: AttendanceRecord,
             escalation: list[str]) -> CoachAlertItem:
    item = CoachAlertItem(alert_id=alert.id, enrolment_id=enrolment.id, record_id=record.id,
                          escalation=",".join(escalation) or None)
    db.add(item)
    db.flush()
    return item


def unsent(db: Session, centre_id: int, day: date
           ) -> list[tuple[CoachAlert, list[tuple[CoachAlertItem, AttendanceRecord]]]]:
    """The day's alerts at the centre waiting to go out, with their items' records."""
    alerts = list(db.scalars(select(CoachAlert).where(
        CoachAlert.job_centre_id == centre_id, CoachAlert.day == day,
        CoachAlert.sent_at.is_(None)).order_by(CoachAlert.id)))
    if not alerts:
        return []
    rows = db.execute(
        select(CoachAlertItem, AttendanceRecord)
        .join(AttendanceRecord, AttendanceRecord.id == CoachAlertItem.record_id)
        .where(CoachAlertItem.alert_id.in_([a.id for a in alerts]))
        .order_by(CoachAlertItem.id))
    items: dict[int, list[tuple[CoachAlertItem, AttendanceRecord]]] = {}
    for item, record in rows:
        items.setdefault(item.alert_id, []).append((item, record))
    return [(alert, items.get(alert.id, [])) for alert in alerts]


def on_answer(db: Session, now: datetime, record: AttendanceRecord) -> bool:
    """The aspirant answered "why?" for ``record``: an alert still waiting will carry the
    answer; one that went out is sent again, updated. False: no alert lists the day."""
    alerts = list(db.scalars(
        select(CoachAlert).join(CoachAlertItem, CoachAlertItem.alert_id == CoachAlert.id)
        .where(CoachAlertItem.record_id == record.id)))
    for alert in alerts:
        if alert.sent_at is None:
            continue
        coach = db.get(Person, alert.coach_id)
        if coach is None or coach.erased_at is not None:
            continue
        centre = db.get(JobCentre, alert.job_centre_id)
        assert centre is not None
        outbox.enqueue(db, now, coach, FALLBACK_UPDATED, kind=KIND,
                       params=view(db, alert, updated=True),
                       dedupe_key=f"alert:{alert.id}:answer:{record.id}",
                       event_key=f"alert:{alert.id}",
                       expires_at=end_of_day(alert.day, centre) + ANSWER_UPDATE_VALID)
    return bool(alerts)


def view(db: Session, alert: CoachAlert, *, again: bool = False, updated: bool = False
         ) -> dict[str, Any]:
    """What the alert shows, as JSON-safe data (names and answers included: erased from the
    outbox once the message is sent)."""
    centre = db.get(JobCentre, alert.job_centre_id)
    assert centre is not None
    policy = db.scalar(select(AttendancePolicy)
                       .where(AttendancePolicy.job_centre_id == alert.job_centre_id))
    rows = db.execute(
        select(CoachAlertItem, Person.display_name, AbsenceReport.reason, AbsenceReport.note)
        .join(Enrolment, Enrolment.id == CoachAlertItem.enrolment_id)
        .join(Person, Person.id == Enrolment.aspirant_id)
        .join(AttendanceRecord, AttendanceRecord.id == CoachAlertItem.record_id)
        .outerjoin(AbsenceReport, AbsenceReport.id == AttendanceRecord.absence_report_id)
        .where(CoachAlertItem.alert_id == alert.id)
        .order_by(CoachAlertItem.id)
    )
    items = [{"id": item.id, "enrolment": item.enrolment_id, "name": name or "?",
              "escalation": item.escalation or "", "action": item.action or "",
              "answer": reason.value if reason is not None else "", "note": note or ""}
             for item, name, reason, note in rows]
    return {
        "alert": alert.id,
        "day": alert.day.isoformat(),
        "centre": centre.name,
        "again": again,
        "updated": updated,
        "streak_limit": policy.streak_limit if policy else 0,
        "window_limit": policy.window_limit if policy else 0,
        "window_days": policy.window_days if policy else 0,
        "items": items,
    }


def end_of_day(day: date, centre: JobCentre) -> datetime:
    return at_local(day + timedelta(days=1), datetime.min.time(),
                    attendance_policy.zone_of(centre))


def send(db: Session, now: datetime, alert: CoachAlert, coach: Person, *,
         again: bool = False) -> None:
    centre = db.get(JobCentre, alert.job_centre_id)
    assert centre is not None
    db.flush()
    outbox.enqueue(
        db, now, coach, FALLBACK_AGAIN if again else FALLBACK, kind=KIND,
        params=view(db, alert, again=again),
        dedupe_key=f"alert:{alert.id}:{'again' if again else 'first'}",
        event_key=f"alert:{alert.id}",
        expires_at=end_of_day(alert.day, centre),
    )


def resend_due(db: Session, now: datetime) -> int:
    """Send again, once, the alerts of today no one acted on within the centre's delay."""
    candidates = db.execute(
        select(CoachAlert, AttendancePolicy, JobCentre)
        .join(AttendancePolicy, AttendancePolicy.job_centre_id == CoachAlert.job_centre_id)
        .join(JobCentre, JobCentre.id == CoachAlert.job_centre_id)
        .where(CoachAlert.acknowledged_at.is_(None), CoachAlert.resent_at.is_(None),
               CoachAlert.sent_at.is_not(None), CoachAlert.sent_at >= now - timedelta(days=1))
    )
    sent = 0
    for alert, policy, centre in candidates:
        assert alert.sent_at is not None
        if now < alert.sent_at + timedelta(minutes=policy.alert_resend_minutes):
            continue
        if now >= end_of_day(alert.day, centre):
            continue
        coach = db.get(Person, alert.coach_id)
        alert.resent_at = now
        if coach is None or coach.erased_at is not None:
            continue
        send(db, now, alert, coach, again=True)
        sent += 1
    db.flush()
    return sent
