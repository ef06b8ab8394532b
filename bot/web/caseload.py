"""The caseload at a desk: a coach's aspirants, those at risk first, and one aspirant's
attendance, plan milestones and recent messages (with why a reminder was not sent).

A coach sees their own aspirants. A team lead or admin picks a coach who works at one
of their centres and sees that coach's aspirants there. One aspirant's page goes through
``follow_up.enrolment_for`` like the chat: someone who does not follow the aspirant up
is told the aspirant is not in their caseload, whatever id they type.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import NotFound
from bot.i18n import N_
from bot.models import Enrolment, OutboxMessage, Person, Role
from bot.presentation.attendance_views import (
    RECORD_WORDS,
    STATUS_ICONS,
    deadline_text,
    milestone_label,
    reason_label,
    today_text,
)
from bot.services.attendance import caseload
from bot.services.attendance.caseload import Entry, Today
from bot.services.people import people
from bot.web.base import Viewer, in_console, query_int, render, route_int
from bot.web.words import kind_name, skip_reason, status_name

LEADS = (Role.TEAM_LEAD, Role.ADMIN)
RECENT_MESSAGES_DAYS = 14
RECENT_MESSAGES = 30
NOT_YOURS = N_("This aspirant is not in your caseload (any more).")

RISKS = {
    "absence": N_("unexplained absence"),
    "overdue": N_("plan overdue"),
    "unreachable": N_("unreachable in Telegram"),
}


def risks(entry: Entry, person: Person) -> list[str]:
    """Why an aspirant needs attention first; the order is the order of urgency."""
    found = []
    if (entry.today in (Today.ABSENT, Today.MISSING) and entry.reason is None) or entry.streak:
        found.append("absence")
    if entry.overdue:
        found.append("overdue")
    if person.unreachable_at is not None:
        found.append("unreachable")
    return found


def _lead_centres(person: Person) -> set[int | None]:
    return people.centres_where(person, *LEADS)


def _coaches(db: Session, viewer: Viewer) -> list[Person]:
    """The coaches whose caseloads a team lead or admin may open."""
    where = _lead_centres(viewer.person)
    if not where:
        return []
    query = (select(Person).join(Enrolment, Enrolment.coach_id == Person.id)
             .where(Enrolment.left_at.is_(None), Person.erased_at.is_(None)))
    if None not in where:
        query = query.where(Enrolment.job_centre_id.in_([c for c in where if c is not None]))
    found = {p.id: p for p in db.scalars(query.distinct())}
    return sorted(found.values(), key=lambda p: ((p.display_name or "").casefold(), p.id))


def _entries(db: Session, viewer: Viewer, coach: Person) -> list[Entry]:
    if coach.id == viewer.person.id:
        return caseload.entries(db, viewer.now, coach)
    where = _lead_centres(viewer.person)
    if None in where:
        return caseload.entries(db, viewer.now, coach)
    found: list[Entry] = []
    for centre_id in sorted(c for c in where if c is not None):
        found += caseload.entries(db, viewer.now, coach, centre_id=centre_id)
    return found


async def index(request: web.Request) -> web.Response:
    asked = query_int(request, "coach")

    def work(db: Session, viewer: Viewer) -> dict[str, Any]:
        t = viewer.t
        coaches = _coaches(db, viewer)
        if asked is not None and asked != viewer.person.id:
            coach = next((c for c in coaches if c.id == asked), None)
            if coach is None:
                raise NotFound(N_("That coach does not work at your job centre."))
        elif viewer.has_role(Role.COACH) or not coaches:
            coach = viewer.person
        else:
            coach = coaches[0]
        entries = _entries(db, viewer, coach)
        aspirants = {p.id: p for p in db.scalars(select(Person).where(
            Person.id.in_([e.enrolment.aspirant_id for e in entries] or [0])))}
        rows = []
        for position, entry in enumerate(entries):
            person = aspirants[entry.enrolment.aspirant_id]
            found = risks(entry, person)
            rows.append({
                "order": (-len(found), position),
                "enrolment": entry.enrolment.id, "name": entry.name,
                "centre": entry.enrolment.job_centre.name,
                "risks": [t._(RISKS[r]) for r in found], "risk_codes": found,
                "today": today_text(t.in_zone(entry.day.zone.key), entry),
                "streak": entry.streak,
                "deadline": deadline_text(t, entry) or "—",
            })
        rows.sort(key=lambda row: row["order"])
        return {"rows": rows, "coach": {"id": coach.id, "name": coach.display_name or "?"},
                "coaches": [{"id": c.id, "name": c.display_name or "?"} for c in coaches],
                "own": coach.id == viewer.person.id,
                "at_risk": sum(1 for row in rows if row["risks"])}

    viewer, data = await in_console(request, work)
    return render(request, "caseload.html", viewer=viewer, section="caseload", **data)


async def show(request: web.Request) -> web.Response:
    enrolment_id = route_int(request, "enrolment_id")

    def work(db: Session, viewer: Viewer) -> dict[str, Any]:
        # Refuses anyone who does not follow the aspirant up (as /caseload in chat).
        detail = caseload.detail(db, viewer.now, viewer.person, enrolment_id)
        entry = detail.entry
        person = db.get(Person, entry.enrolment.aspirant_id)
        if person is None:
            raise NotFound(NOT_YOURS)
        t = viewer.t.in_zone(detail.centre.timezone)
        return {
            "name": entry.name, "centre": detail.centre.name,
            "required": entry.enrolment.attendance_required,
            "today": today_text(t, entry), "streak": entry.streak,
            "risks": [t._(RISKS[r]) for r in risks(entry, person)],
            "recent": [{"day": t.short_date(day), "icon": STATUS_ICONS[status],
                        "status": status.value if status is not None else "none",
                        "label": t._(RECORD_WORDS[status])}
                       for day, status in detail.recent],
            "absences": [{"span": (t.short_date(a.first_day) if a.first_day == a.last_day
                                   else f"{t.short_date(a.first_day)}–{t.short_date(a.last_day)}"),
                          "reason": reason_label(t, a.reason)} for a in detail.upcoming],
            "milestones": [{"name": milestone_label(t, m.kind),
                            "state": (t._("done {date}", date=t.short_date(m.done_at))
                                      if m.done_at is not None else
                                      t._("due {date}", date=t.short_date(m.due_on))),
                            "overdue": m.done_at is None and m.due_on < entry.day.day}
                           for m in detail.milestones],
            "notes": [{"day": t.short_date(n.day), "text": n.text} for n in detail.notes],
            "messages": _messages(db, viewer, person, t),
        }

    viewer, data = await in_console(request, work)
    return render(request, "aspirant.html", viewer=viewer, section="caseload", **data)


def _messages(db: Session, viewer: Viewer, person: Person, t: Any) -> list[dict[str, Any]]:
    """The aspirant's messages of the last two weeks and the ones planned: what, when, and
    for those not sent, why. Texts are not kept once sent, so none are shown."""
    rows = db.scalars(
        select(OutboxMessage).where(
            OutboxMessage.recipient_id == person.id,
            OutboxMessage.due_at >= viewer.now - timedelta(days=RECENT_MESSAGES_DAYS))
        .order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc())
        .limit(RECENT_MESSAGES))
    return [{"when": f"{t.short_date(m.due_at)} {t.time(m.due_at)}",
             "what": kind_name(t, m.kind), "status": status_name(t, m.status),
             "state": m.status.value,
             "why": skip_reason(t, m.skip_reason) if m.skip_reason else ""}
            for m in rows]
