"""An information session as a calendar file (.ics) the aspirant can add to their phone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from bot.i18n import Translator
from bot.models import InfoSession


def session_ics(session: InfoSession, t: Translator, now: datetime) -> bytes:
    """One event in UTC (every calendar app shows it in the phone's own zone)."""
    calendar = Calendar()
    calendar.add("prodid", "-//jobbot//information sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    # Stable per session, so adding it again after a change updates the same entry.
    event.add("uid", f"info-session-{session.id}@jobbot")
    event.add("dtstamp", now)
    # Grows with every change (minutes since 2020), so calendars replace the old entry.
    event.add("sequence", max(0, int(session.updated_at.timestamp() - 1_577_836_800) // 60))
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", t._("Information session at {centre}", centre=session.job_centre.name))
    event.add("location", session.place or session.job_centre.address)
    if session.latitude is not None and session.longitude is not None:
        event.add("geo", (session.latitude, session.longitude))
    calendar.add_component(event)
    return calendar.to_ical()


def filename(session: InfoSession) -> str:
    local = session.starts_at.astimezone(ZoneInfo(session.job_centre.timezone))
    return f"information-session-{local:%Y%m%d}.ics"
