"""A term's schedule of information sessions from a table (CSV rows), all or nothing.

Every row is checked before anything is created; one bad row anywhere creates no
session at all, and the answer lists every problem with its line number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import DomainError, JobbotError
from bot.models import InfoSession, JobCentre, Person
from bot.services.centres import centres
from bot.services.sessions import info_sessions

COLUMNS = ("centre", "date", "start", "end", "place", "capacity", "language")
REQUIRED = ("centre", "date", "start")
DEFAULT_DURATION = timedelta(hours=2)
DEFAULT_CAPACITY = 20


class ScheduleRejected(JobbotError):
    """The schedule has problems; nothing was created."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s), no session created:\n" + "\n".join(problems))
        self.problems = problems


@dataclass
class PlannedSession:
    line: int
    centre: JobCentre
    starts_at: datetime
    duration: timedelta
    place: str | None
    capacity: int
    language: str


def explain(error: DomainError) -> str:
    """A domain error as one English line (the command line has no reader's language)."""
    return error.message.format(**{k: v for k, v in error.params.items()})


def check(db: Session, now: datetime, rows: Iterable[Mapping[str, str]], *,
          first_line: int = 2) -> list[PlannedSession]:
    """Parse and validate every row; raises ScheduleRejected listing all problems."""
    planned: list[PlannedSession] = []
    problems: list[str] = []
    seen: dict[tuple[int, datetime], int] = {}
    rows = list(rows)
    if not rows:
        raise ScheduleRejected(["the file has no rows"])
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise ScheduleRejected([f"missing column(s): {', '.join(missing)} "
                                f"(columns: {', '.join(COLUMNS)})"])
    for line, row in enumerate(rows, start=first_line):
        try:
            session = _row(db, now, line, row)
        except DomainError as error:
            problems.append(f"line {line}: {explain(error)}")
            continue
        key = (session.centre.id, session.starts_at)
        if key in seen:
            problems.append(f"line {line}: same centre and start as line {seen[key]}")
            continue
        seen[key] = line
        existing = db.scalar(select(InfoSession.id).where(
            InfoSession.job_centre_id == session.centre.id,
            InfoSession.starts_at == session.starts_at, InfoSession.cancelled_at.is_(None)))
        if existing is not None:
            problems.append(f"line {line}: session {existing} already starts then at this centre")
            continue
        planned.append(session)
    if problems:
        raise ScheduleRejected(problems)
    return planned


def _row(db: Session, now: datetime, line: int, row: Mapping[str, str]) -> PlannedSession:
    value = {k: (row.get(k) or "").strip() for k in COLUMNS}
    if not value["centre"]:
        raise DomainError("the centre is missing")
    centre = centres.by_name(db, value["centre"])
    if centre is None:
        raise DomainError("unknown job centre {name!r}", name=value["centre"])
    when = f"{value['date']} {value['start']}"
    if value["end"]:
        when += f"-{value['end']}"
    starts_at, duration = info_sessions.parse_when(when, ZoneInfo(centre.timezone))
    duration = duration or DEFAULT_DURATION
    capacity = (info_sessions.parse_capacity(value["capacity"]) if value["capacity"]
                else DEFAULT_CAPACITY)
    language = value["language"] or "sv"
    info_sessions.check_values(now, starts_at, duration, capacity, language)
    return PlannedSession(line, centre, starts_at, duration, value["place"] or None, capacity,
                          language)


def import_rows(db: Session, now: datetime, rows: Iterable[Mapping[str, str]], *,
                actor: Person | None = None) -> list[InfoSession]:
    """Create every session of the schedule, or none."""
    planned = check(db, now, rows)
    return [info_sessions.create(db, now, job_centre=p.centre, starts_at=p.starts_at,
                                 duration=p.duration, place=p.place, capacity=p.capacity,
                                 language=p.language, actor=actor) for p in planned]
