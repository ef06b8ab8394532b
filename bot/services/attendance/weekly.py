"""The weekly statement social workers receive in chat.

On Monday morning (or the first time the bot runs after it that week), each social
worker gets, per job centre, last week's attendance of every aspirant linked to them,
with each absence's reason and the coach's judgement, and the status of their job plan.
It goes through the outbox as plain data and is worded in the reader's language when
sent. Once per centre and week (``AttendanceDay.weekly_at`` on the week's Monday).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar, at_local, local_date
from bot.i18n import N_
from bot.models import AttendancePolicy, Enrolment, JobCentre, Person
from bot.services.attendance import day_steps
from bot.services.attendance import policy as attendance_policy
from bot.services.attendance import statement as attendance_statement
from bot.services.messaging import outbox

KIND = "weekly_statement"
# When the week's statements go out, local time on Monday.
SEND_AT = time(8, 0)
# Aspirants per message, so each stays well within Telegram's length limit.
PER_MESSAGE = 8
FALLBACK = N_("Your weekly attendance statements are ready. Open /statements to see them.")


def send_due(db: Session, now: datetime, centre: JobCentre, policy: AttendancePolicy,
             calendar: WorkCalendar) -> int:
    """Queue last week's statements for the centre's social workers, once a week."""
    zone = attendance_policy.zone_of(centre)
    today = local_date(now, zone)
    monday = today - timedelta(days=today.weekday())
    if now < at_local(monday, SEND_AT, zone):
        return 0
    row = day_steps.day_row(db, centre.id, monday)
    if row is not None and row.weekly_at is not None:
        return 0
    if not day_steps.claim_step(db, now, centre.id, monday, "weekly_at"):
        return 0
    first, last = monday - timedelta(days=7), monday - timedelta(days=1)
    week_start = at_local(first, time(0), zone)
    rows = db.execute(
        select(Enrolment, Person)
        .join(Person, Person.id == Enrolment.social_worker_id)
        .where(Enrolment.job_centre_id == centre.id, Enrolment.social_worker_id.is_not(None),
               Person.erased_at.is_(None),
               or_(Enrolment.left_at.is_(None), Enrolment.left_at >= week_start),
               Enrolment.enrolled_at < at_local(monday, time(0), zone))
        .order_by(Enrolment.social_worker_id, Enrolment.id))
    by_worker: dict[int, list[Enrolment]] = defaultdict(list)
    workers: dict[int, Person] = {}
    for enrolment, worker in rows:
        if enrolment.aspirant.erased_at is not None:
            continue
        by_worker[worker.id].append(enrolment)
        workers[worker.id] = worker
    queued = 0
    for worker_id, enrolments in by_worker.items():
        views = [aspirant_view(db, now, enrolment, first, last) for enrolment in enrolments]
        for part, start in enumerate(range(0, len(views), PER_MESSAGE)):
            outbox.enqueue(
                db, now, workers[worker_id], FALLBACK, kind=KIND,
                params={"centre": centre.name, "first": first.isoformat(),
                        "last": last.isoformat(), "aspirants": views[start:start + PER_MESSAGE]},
                dedupe_key=f"weekly:{worker_id}:{centre.id}:{monday.isoformat()}:{part}")
            queued += 1
    return queued


def aspirant_view(db: Session, now: datetime, enrolment: Enrolment, first: date, last: date
                  ) -> dict[str, Any]:
    """One aspirant's week and plan as JSON-safe data (the name is erased from the outbox
    once the message is sent)."""
    from bot.services.plans import milestones

    found = attendance_statement.build(db, now, enrolment, first, last)
    today = local_date(now, attendance_policy.zone_of(enrolment.job_centre))
    return {
        "name": found.name,
        "counts": found.counts(),
        "starts_on": found.starts_on.isoformat() if found.starts_on else "",
        "left": enrolment.left_at is not None,
        "absences": [[d.day.isoformat(), d.status, d.reason.value if d.reason else "",
                      d.judged_by or ""] for d in found.days
                     if d.status in attendance_statement.ABSENT],
        "plan": [plan_line(m, today, enrolment) for m in milestones.plan_of(db, enrolment.id)],
    }


def plan_line(milestone: Any, today: date, enrolment: Enrolment) -> list[str]:
    """[kind, state, date]: state is done, confirm (waiting for the aspirant's
    confirmation), overdue or due."""
    from bot.services.plans import milestones

    completed = milestones.completed_at(milestone)
    if completed is not None:
        return [milestone.kind.value, "done",
                milestones.local_today(completed, enrolment).isoformat()]
    if milestones.awaiting_confirmation(milestone):
        return [milestone.kind.value, "confirm",
                milestones.local_today(milestone.done_at, enrolment).isoformat()]
    state = "overdue" if milestone.due_on < today else "due"
    return [milestone.kind.value, state, milestone.due_on.isoformat()]
