"""Information sessions: a calendar per job centre, bookings, attendance from a list, and
cancelling with notice to the booked.

Who sees what is the chat's rule (/sessions): staff see the sessions of their centres;
attendance is recorded for every booking by an admin or team lead of the centre, and
for their own aspirants by a coach; only an admin of the centre cancels. The services
check it again (bot/services/sessions, bot/services/plans/milestones.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import local_date
from bot.errors import NotAllowed, NotFound
from bot.i18n import LANGUAGES, N_
from bot.models import Booking, BookingStatus, InfoSession, JobCentre, Person, Role
from bot.presentation.views import BOOKING_STATUS_NAMES
from bot.services.plans import milestones
from bot.services.sessions import info_sessions
from bot.web.base import Viewer, in_console, parse_id, query_int, render, route_int, see_other

WEEKS_SHOWN = 4
GONE = N_("That information session no longer exists.")


def _centres(db: Session, viewer: Viewer) -> list[JobCentre]:
    where = info_sessions.visible_centres(viewer.person)
    query = select(JobCentre).order_by(JobCentre.name)
    if None not in where:
        query = query.where(JobCentre.id.in_([c for c in where if c is not None]))
    return [c for c in db.scalars(query) if c.disabled_at is None or c.id in where]


def _visible(db: Session, viewer: Viewer, session_id: int) -> InfoSession:
    """The session, if it is at one of the viewer's centres; else it does not exist."""
    session = info_sessions.get(db, session_id)
    where = info_sessions.visible_centres(viewer.person)
    if session is None or (None not in where and session.job_centre_id not in where):
        raise NotFound(GONE)
    return session


def _is_admin_of(person: Person, centre_id: int) -> bool:
    try:
        info_sessions.check_admin(person, centre_id)
    except NotAllowed:
        return False
    return True


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _at(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=zone)


async def calendar(request: web.Request) -> web.Response:
    asked_centre = query_int(request, "centre")
    asked_from = _parse_day(request.query.get("from"))

    def work(db: Session, viewer: Viewer) -> dict[str, Any]:
        centres = _centres(db, viewer)
        if not centres:
            return {"centres": [], "centre": None}
        centre = next((c for c in centres if c.id == asked_centre), None)
        if asked_centre is not None and centre is None:
            raise NotFound(N_("That job centre no longer exists."))
        centre = centre or centres[0]
        zone = ZoneInfo(centre.timezone)
        t = viewer.t.in_zone(centre.timezone)
        first = _monday(asked_from or local_date(viewer.now, zone))
        last = first + timedelta(weeks=WEEKS_SHOWN)
        found = list(db.scalars(
            select(InfoSession).where(InfoSession.job_centre_id == centre.id,
                                      InfoSession.starts_at >= _at(first, zone),
                                      InfoSession.starts_at < _at(last, zone))
            .order_by(InfoSession.starts_at)))
        days: dict[date, list[dict[str, Any]]] = {}
        for session in found:
            booked = info_sessions.booked_count(db, session.id)
            waiting = sum(1 for b in info_sessions.bookings_on(db, session.id)
                          if b.status == BookingStatus.BOOKED)
            started = session.starts_at <= viewer.now
            days.setdefault(local_date(session.starts_at, zone), []).append({
                "id": session.id,
                "time": f"{t.time(session.starts_at)}–{t.time(session.ends_at)}",
                "place": session.place or centre.address,
                "language": LANGUAGES.get(session.language, session.language),
                "booked": booked, "capacity": session.capacity,
                "cancelled": session.cancelled_at is not None,
                "unrecorded": waiting if started and session.cancelled_at is None else 0,
            })
        weeks = []
        for week in range(WEEKS_SHOWN):
            monday = first + timedelta(weeks=week)
            weeks.append({
                "label": t._("Week {number}", number=monday.isocalendar().week),
                "days": [{"label": t.date(day), "iso": day.isoformat(), "sessions": days[day]}
                         for day in (monday + timedelta(days=n) for n in range(7))
                         if day in days]})
        return {
            "centres": [{"id": c.id, "name": c.name} for c in centres],
            "centre": {"id": centre.id, "name": centre.name},
            "weeks": weeks,
            "period": f"{t.short_date(first)} – {t.short_date(last - timedelta(days=1))}",
            "previous": (first - timedelta(weeks=WEEKS_SHOWN)).isoformat(),
            "next": last.isoformat(),
            "empty": not found,
        }

    viewer, data = await in_console(request, work)
    return render(request, "sessions.html", viewer=viewer, section="sessions", **data)


def _session_view(db: Session, viewer: Viewer, session: InfoSession) -> dict[str, Any]:
    t = viewer.t.in_zone(session.job_centre.timezone)
    recordable = {b.id for b in info_sessions.recordable_bookings(db, viewer.person, session)}
    bookings = info_sessions.bookings_on(db, session.id)
    rows = []
    for booking in bookings:
        if booking.id not in recordable:
            continue
        aspirant = db.get(Person, booking.aspirant_id)
        rows.append({"id": booking.id,
                     "name": (aspirant.display_name if aspirant else None) or "?",
                     "status": booking.status.value,
                     "status_name": t._(BOOKING_STATUS_NAMES[booking.status])})
    rows.sort(key=lambda row: row["name"].casefold())
    upcoming = session.cancelled_at is None and session.starts_at > viewer.now
    return {
        "session": {
            "id": session.id, "centre_id": session.job_centre_id,
            "centre": session.job_centre.name,
            "date": t.date(session.starts_at),
            "time": f"{t.time(session.starts_at)}–{t.time(session.ends_at)}",
            "start": t.time(session.starts_at),
            "place": session.place or session.job_centre.address,
            "language": LANGUAGES.get(session.language, session.language),
            "capacity": session.capacity,
            "booked": info_sessions.booked_count(db, session.id),
            "cancelled": session.cancelled_at is not None,
            "started": session.starts_at <= viewer.now,
            "week_of": _monday(local_date(session.starts_at,
                                          ZoneInfo(session.job_centre.timezone))).isoformat(),
        },
        "bookings": rows,
        "others": len(bookings) - len(rows),
        "may_record": session.cancelled_at is None and session.starts_at <= viewer.now
        and bool(rows),
        "may_cancel": upcoming and _is_admin_of(viewer.person, session.job_centre_id),
    }


async def show(request: web.Request) -> web.Response:
    session_id = route_int(request, "session_id")

    def work(db: Session, viewer: Viewer) -> dict[str, Any]:
        return _session_view(db, viewer, _visible(db, viewer, session_id))

    viewer, data = await in_console(request, work)
    notice = {"saved": viewer.t._("Attendance saved."),
              "cancelled": viewer.t._("The information session is cancelled. The booked "
                                      "aspirants are being told and offered other times.")
              }.get(request.query.get("done", ""))
    return render(request, "session.html", viewer=viewer, section="sessions", notice=notice,
                  **data)


def _marks(form: Mapping[str, Any]) -> dict[int, bool]:
    """``booking_<id>`` = ``came`` or ``absent``; anything else is left as it is."""
    marks = {}
    for key, value in form.items():
        booking = parse_id(key[8:]) if key.startswith("booking_") else None
        if booking is not None and value in ("came", "absent"):
            marks[booking] = value == "came"
    return marks


async def record_attendance(request: web.Request) -> web.StreamResponse:
    session_id = route_int(request, "session_id")
    form = await request.post()
    marks = _marks(form)

    def work(db: Session, viewer: Viewer) -> None:
        session = _visible(db, viewer, session_id)
        allowed = {b.id: b for b in info_sessions.recordable_bookings(db, viewer.person,
                                                                       session)}
        for booking_id, came in sorted(marks.items()):
            booking: Booking | None = allowed.get(booking_id)
            if booking is None:
                raise NotFound(N_("That booking no longer exists."))
            wanted = BookingStatus.ATTENDED if came else BookingStatus.NO_SHOW
            if booking.status != wanted:
                milestones.record_booking_attendance(db, viewer.now, booking.id, came,
                                                     actor=viewer.person)

    await in_console(request, work)
    return see_other(f"/sessions/{session_id}?done=saved")


async def confirm_cancel(request: web.Request) -> web.Response:
    session_id = route_int(request, "session_id")

    def work(db: Session, viewer: Viewer) -> dict[str, Any]:
        session = _visible(db, viewer, session_id)
        view = _session_view(db, viewer, session)
        if not view["may_cancel"]:
            info_sessions.check_admin(viewer.person, session.job_centre_id)
            raise NotFound(N_("That information session has already started and cannot be "
                              "cancelled."))
        return view

    viewer, data = await in_console(request, work, roles={Role.ADMIN})
    t = viewer.t
    booked = data["session"]["booked"]
    return render(request, "session_cancel.html", viewer=viewer, section="sessions",
                  question=t._("Cancel the information session on {date} at {time}?",
                               date=data["session"]["date"], time=data["session"]["start"]),
                  told=t.ngettext("{count} booked aspirant will be told and offered other "
                                  "times.", "{count} booked aspirants will be told and offered "
                                  "other times.", booked), **data)


async def cancel(request: web.Request) -> web.StreamResponse:
    session_id = route_int(request, "session_id")

    def work(db: Session, viewer: Viewer) -> None:
        session = _visible(db, viewer, session_id)
        info_sessions.cancel(db, viewer.now, session.id, actor=viewer.person)

    await in_console(request, work, roles={Role.ADMIN})
    return see_other(f"/sessions/{session_id}?done=cancelled")
