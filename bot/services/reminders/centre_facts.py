"""What the planner knows of a job centre during one pass, read for many centres at once.

The rules in force (a centre's own enabled rules of an event kind replace the general
ones), its quiet hours, working calendar, time zone, check-in window and team leads.
A pass reads these once per chunk for every centre the chunk touches, in six statements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, time
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.calendar import WorkCalendar
from bot.models import (
    AttendancePolicy,
    ClosedDay,
    EventKind,
    JobCentre,
    Person,
    ReminderRule,
    ReminderSettings,
    Role,
    RoleGrant,
)
from bot.services.attendance.days import DEFAULT_WEEKDAYS, DEFAULT_WINDOW_START
from bot.services.reminders import quiet_hours
from bot.services.reminders.events import Recipient, read, recipient

DEFAULT_ZONE = "Europe/Stockholm"


@dataclass
class CentreFacts:
    id: int
    name: str
    address: str
    zone: ZoneInfo
    settings: quiet_hours.CentreReminderSettings
    calendar: WorkCalendar
    # Attendance policy: which weekdays, and when the check-in window opens.
    weekdays: str
    window_start: time
    team_leads: list[Recipient]
    rules: dict[EventKind, list[ReminderRule]] = field(default_factory=dict)

    def rules_for(self, kind: EventKind) -> list[ReminderRule]:
        return self.rules.get(kind, [])


def rules_in_force(rules: Iterable[ReminderRule], centre_id: int, kind: EventKind
                   ) -> list[ReminderRule]:
    """The enabled rules of ``kind`` that apply at a centre: its own if it has any, else the
    general ones (so a centre can replace, or opt out of, a general reminder)."""
    of_kind = sorted((rule for rule in rules if rule.enabled and rule.event_kind == kind),
                     key=lambda rule: rule.id)
    own = [rule for rule in of_kind if rule.job_centre_id == centre_id]
    return own or [rule for rule in of_kind if rule.job_centre_id is None]


def load(db: Session, centre_ids: Iterable[int]) -> dict[int, CentreFacts]:
    """Facts for each id; an id with no centre (e.g. 0 in a preview) gets the defaults."""
    ids = sorted(set(centre_ids))
    if not ids:
        return {}
    centres = {row.id: row for row in read(db, select(
        JobCentre.id, JobCentre.name, JobCentre.address, JobCentre.timezone)
        .where(JobCentre.id.in_(ids)))}
    rules = list(db.scalars(select(ReminderRule).where(
        ReminderRule.enabled.is_(True),
        ReminderRule.job_centre_id.is_(None) | ReminderRule.job_centre_id.in_(ids))))
    settings = {row.job_centre_id: row for row in db.scalars(
        select(ReminderSettings).where(ReminderSettings.job_centre_id.in_(ids)))}
    closed: dict[int, list[date]] = defaultdict(list)
    for centre_id, day in read(db, select(ClosedDay.job_centre_id, ClosedDay.day)
                               .where(ClosedDay.job_centre_id.in_(ids))):
        closed[centre_id].append(day)
    policies = {centre_id: (weekdays, start) for centre_id, weekdays, start in read(db, select(
        AttendancePolicy.job_centre_id, AttendancePolicy.weekdays,
        AttendancePolicy.window_start).where(AttendancePolicy.job_centre_id.in_(ids)))}
    leads: dict[int | None, dict[int, Recipient]] = defaultdict(dict)
    for grant_centre, *person in read(db, select(
            RoleGrant.job_centre_id, Person.id, Person.display_name, Person.chat_id,
            Person.erased_at, Person.unreachable_at)
            .join(Person, Person.id == RoleGrant.person_id)
            .where(RoleGrant.role == Role.TEAM_LEAD,
                   or_(RoleGrant.job_centre_id.is_(None), RoleGrant.job_centre_id.in_(ids)))):
        lead = recipient(tuple(person))
        assert lead is not None
        leads[grant_centre][lead.id] = lead

    facts = {}
    for centre_id in ids:
        centre = centres.get(centre_id)
        weekdays, window_start = policies.get(centre_id, (DEFAULT_WEEKDAYS,
                                                          DEFAULT_WINDOW_START))
        team = {**leads[None], **leads[centre_id]}
        facts[centre_id] = CentreFacts(
            id=centre_id,
            name=centre.name if centre is not None else "",
            address=centre.address if centre is not None else "",
            zone=ZoneInfo(centre.timezone if centre is not None else DEFAULT_ZONE),
            settings=quiet_hours.of_row(settings.get(centre_id)),
            calendar=WorkCalendar(closed_days=closed[centre_id]),
            weekdays=weekdays, window_start=window_start,
            team_leads=[team[person_id] for person_id in sorted(team)],
            rules={kind: rules_in_force(rules, centre_id, kind) for kind in EventKind},
        )
    return facts
