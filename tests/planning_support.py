"""A varied cohort for the planning tests, written straight into the tables (no planning
happens while it is built), the same way every time for the same seed."""

from __future__ import annotations

import json
import random
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import (
    AbsenceReason,
    AbsenceReport,
    AttendanceRecord,
    AttendanceStatus,
    Audience,
    Booking,
    BookingStatus,
    CheckInMethod,
    ClosedDay,
    Enrolment,
    EventKind,
    InfoSession,
    JobCentre,
    MilestoneKind,
    OutboxMessage,
    Person,
    PlanMilestone,
    ReminderSettings,
    Role,
    RoleGrant,
)
from bot.services.attendance import policy as attendance_policy
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders.rules import RuleSpec
from tests.conftest import STOCKHOLM

LANGUAGES = ("sv", "ar", "so", "fa", "ti", "en")


def _person(db: Session, now: datetime, rng: random.Random, uid: int, name: str, *,
            reachable: float = 0.9) -> Person:
    person = Person(telegram_user_id=uid, chat_id=uid, display_name=name,
                    language=rng.choice(LANGUAGES), consent_at=now, created_at=now)
    roll = rng.random()
    if roll > reachable:
        # Some cannot be reached: blocked the bot, no chat, or erased.
        choice = rng.choice(("unreachable", "no_chat", "erased"))
        if choice == "unreachable":
            person.unreachable_at = now
        elif choice == "no_chat":
            person.chat_id = None
        else:
            person.erased_at, person.display_name, person.chat_id = now, None, None
    db.add(person)
    db.flush()
    return person


def _grant(db: Session, now: datetime, person: Person, role: Role, centre: JobCentre | None
           ) -> None:
    db.add(RoleGrant(person_id=person.id, role=role, granted_at=now,
                     job_centre_id=centre.id if centre is not None else None))


def cohort(db: Session, now: datetime, *, seed: int = 7, aspirants: int = 90) -> dict[str, Any]:
    """Three centres with their own rules, quiet hours, policies and closed days; staff;
    aspirants with and without a requirement, coaches, records, absences, milestones and
    bookings; some who left, some who cannot be reached."""
    rng = random.Random(seed)
    uid = iter(range(4_000_001, 4_100_000))
    kista = JobCentre(name="Jobbtorg Kista", address="Kistagången 2", created_at=now)
    farsta = JobCentre(name="Jobbtorg Farsta", address="Farstaplan 1", created_at=now)
    helsinki = JobCentre(name="Jobbtorg Helsinki", address="", timezone="Europe/Helsinki",
                         created_at=now)
    centres = [kista, farsta, helsinki]
    db.add_all(centres)
    db.flush()

    # General rules, and each other centre's own replacements for some event kinds.
    reminder_rules.install_defaults(db, now)
    reminder_rules.create(db, now, RuleSpec(EventKind.INFO_SESSION, Audience.ASPIRANT,
                                            offset_minutes=-60), job_centre=farsta,
                          replan=False)
    # With Farsta's quiet weekends, "the day before" a Monday morning session moves to the
    # same moment as "an hour before": one of the two is kept.
    reminder_rules.create(db, now, RuleSpec(EventKind.INFO_SESSION, Audience.ASPIRANT,
                                            offset_days=-1), job_centre=farsta,
                          replan=False)
    reminder_rules.create(db, now, RuleSpec(EventKind.INFO_SESSION, Audience.COACH,
                                            texts={"sv": "{name} kommer {date} kl. {time}"}),
                          job_centre=farsta, replan=False)
    reminder_rules.create(db, now, RuleSpec(EventKind.INFO_SESSION, Audience.COACH,
                                            offset_minutes=60), job_centre=farsta,
                          replan=False)
    reminder_rules.create(db, now, RuleSpec(EventKind.CHECK_IN, Audience.ASPIRANT,
                                            offset_minutes=-30), job_centre=helsinki,
                          replan=False)
    reminder_rules.create(db, now, RuleSpec(EventKind.CHECK_IN, Audience.ASPIRANT,
                                            offset_minutes=45,
                                            texts={"ar": "تذكير {time}"}),
                          job_centre=helsinki, replan=False)
    reminder_rules.create(db, now, RuleSpec(EventKind.REVIEW, Audience.TEAM_LEAD,
                                            offset_days=-3), job_centre=farsta, replan=False)
    reminder_rules.create(db, now, RuleSpec(EventKind.REVIEW, Audience.ASPIRANT,
                                            offset_days=-1, at_local_time=time(19, 30)),
                          job_centre=farsta, replan=False)
    switched_off = reminder_rules.create(
        db, now, RuleSpec(EventKind.FIRST_PLAN, Audience.ASPIRANT, offset_days=-3),
        job_centre=helsinki, replan=False)
    switched_off.enabled = False

    db.add(ReminderSettings(job_centre_id=farsta.id, quiet_start=time(21, 0),
                            quiet_end=time(7, 30), quiet_weekends=True,
                            deadline_calendar_days=False, updated_at=now))
    db.add(ReminderSettings(job_centre_id=helsinki.id, quiet_start=time(0, 0),
                            quiet_end=time(0, 0), quiet_weekends=False,
                            deadline_calendar_days=True, updated_at=now))
    today = now.astimezone(STOCKHOLM).date()
    db.add(ClosedDay(job_centre_id=farsta.id, day=today + timedelta(days=1), note="training"))
    db.add(ClosedDay(job_centre_id=helsinki.id, day=today + timedelta(days=4), note=""))
    farsta_policy = attendance_policy.policy_for(db, now, farsta.id)
    farsta_policy.weekdays, farsta_policy.window_start = "1234", time(7, 45)
    attendance_policy.policy_for(db, now, helsinki.id)  # defaults; Kista has no row

    coaches: dict[int, list[Person]] = {}
    for centre in centres:
        coaches[centre.id] = []
        for n in range(3):
            coach = _person(db, now, rng, next(uid), f"Coach {centre.id}.{n}", reachable=0.7)
            _grant(db, now, coach, Role.COACH, centre)
            coaches[centre.id].append(coach)
        lead = _person(db, now, rng, next(uid), f"Lead {centre.id}", reachable=0.8)
        _grant(db, now, lead, Role.TEAM_LEAD, centre)
    city_lead = _person(db, now, rng, next(uid), "City lead", reachable=1.0)
    _grant(db, now, city_lead, Role.TEAM_LEAD, None)

    sessions = []
    for centre in centres:
        for offset_days, clock in ((-3, time(10)), (-1, time(13)), (0, time(15)), (1, time(8)),
                                   (2, time(10)), (3, time(9, 15)), (6, time(14)),
                                   (7, time(8, 30))):
            starts = datetime.combine(today + timedelta(days=offset_days), clock,
                                      tzinfo=STOCKHOLM)
            session = InfoSession(job_centre_id=centre.id, starts_at=starts,
                                  ends_at=starts + timedelta(hours=1),
                                  place=rng.choice(("", "Room 3")), created_at=now,
                                  updated_at=now)
            if offset_days == 2 and centre is not kista:
                session.cancelled_at = now
            db.add(session)
            sessions.append(session)
    db.flush()

    enrolments = []
    for n in range(aspirants):
        centre = centres[n % 3]
        person = _person(db, now, rng, next(uid), f"Aspirant {n}", reachable=0.85)
        _grant(db, now, person, Role.ASPIRANT, centre)
        enrolment = Enrolment(aspirant_id=person.id, job_centre_id=centre.id,
                              coach_id=rng.choice(coaches[centre.id]).id
                              if rng.random() < 0.85 else None,
                              attendance_required=rng.random() < 0.7,
                              enrolled_at=now - timedelta(days=rng.randint(1, 60)))
        if rng.random() < 0.1:
            enrolment.left_at = now - timedelta(days=1)
        # Most had their intake (the requirement starts the day after); some only today
        # (from tomorrow on), some not yet.
        intake = rng.random()
        if intake < 0.75:
            enrolment.intake_on = today - timedelta(days=rng.randint(1, 20))
        elif intake < 0.85:
            enrolment.intake_on = today
        db.add(enrolment)
        db.flush()
        enrolments.append(enrolment)
        for kind, spread in ((MilestoneKind.FIRST_PLAN, 8), (MilestoneKind.DEEPENED_PLAN, 20),
                             (MilestoneKind.REVIEW, 40)):
            if rng.random() < 0.6:
                milestone = PlanMilestone(enrolment_id=enrolment.id, kind=kind,
                                          due_on=today + timedelta(days=rng.randint(-3, spread)),
                                          counted_from=today, created_at=now)
                state = rng.random()
                if state < 0.15:
                    milestone.done_at = now
                elif state < 0.2:
                    milestone.cancelled_at = now
                db.add(milestone)
        roll = rng.random()
        if roll < 0.2:
            db.add(AttendanceRecord(enrolment_id=enrolment.id, day=today,
                                    status=AttendanceStatus.PRESENT,
                                    method=CheckInMethod.CODE, recorded_at=now))
        elif roll < 0.3:
            db.add(AbsenceReport(enrolment_id=enrolment.id, first_day=today,
                                 last_day=today + timedelta(days=rng.randint(0, 3)),
                                 reason=AbsenceReason.ILL, reported_at=now))
        own = [session for session in sessions if session.job_centre_id == centre.id]
        # Mostly at their own centre; a booking elsewhere has no enrolment behind it.
        for session in rng.sample(own if rng.random() < 0.85 else sessions,
                                  k=rng.randint(0, 2)):
            status = rng.choice([BookingStatus.BOOKED] * 4 + [BookingStatus.CANCELLED,
                                                              BookingStatus.ATTENDED])
            db.add(Booking(info_session_id=session.id, aspirant_id=person.id, status=status,
                           created_at=now, updated_at=now))
    db.flush()
    return {"centres": [c.id for c in centres], "enrolments": [e.id for e in enrolments],
            "sessions": [s.id for s in sessions]}


def outbox_rows(db: Session) -> list[tuple[Any, ...]]:
    """Every outbox row as comparable values (ids and creation times left out)."""
    db.flush()
    rows = db.execute(select(
        OutboxMessage.event_key, OutboxMessage.kind, OutboxMessage.rule_id,
        OutboxMessage.recipient_id, OutboxMessage.due_at, OutboxMessage.expires_at,
        OutboxMessage.status, OutboxMessage.skip_reason, OutboxMessage.template,
        OutboxMessage.params, OutboxMessage.dedupe_key))
    return sorted((tuple(json.dumps(v, sort_keys=True) if isinstance(v, dict) else v
                         for v in row) for row in rows), key=repr)
