"""Applying a configuration file: all of it or nothing, through the services.

Things are found by their natural keys: a job centre by name; a reminder rule by its
scope (general or the centre's), event, audience and offset with its time of day; an
information session by its centre and local start; a closed day by its date. A thing
the file names is created or brought in line with the file; a field the file leaves
out keeps its current value (new things get the services' defaults). Nothing the file
does not mention is changed or removed: ``disabled: true`` on a centre and
``enabled: false`` on a rule are how a file turns things off.

Every change goes through the same service an admin's change in chat goes through,
so it is validated, audited and re-plans the reminders it affects. The file's form is
checked first, then every valid piece is applied in a savepoint of one transaction;
if anything anywhere was refused, the whole transaction is rolled back and every
problem is reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config.schema import (
    CentreHead,
    ClosedDayConfig,
    ConfigRejected,
    Item,
    ParsedCentre,
    ParsedConfig,
    PolicyConfig,
    Problem,
    ReminderSettingsConfig,
    RuleConfig,
    ScheduleConfig,
    SessionConfig,
    parse,
    timing_key,
)
from bot.config.yaml_text import Path
from bot.errors import DomainError
from bot.models import AttendancePolicy, ClosedDay, InfoSession, JobCentre, Person, ReminderRule
from bot.services.attendance import policy as attendance_policy
from bot.services.centres import centres, closed_days, org_settings
from bot.services.centres.calendars import calendar_for
from bot.services.reminders import planner as reminders
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders import settings as reminder_settings
from bot.services.sessions import info_sessions
from bot.services.sessions.schedule import explain
from bot.services.system import audit

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class _Reported(Exception):
    """A step's problems are listed already; the step is undone."""

# What the summary counts, in the order it is printed.
KINDS = ("setting", "reminder rule", "job centre", "closed day", "reminder settings",
         "attendance policy", "information session")
_PLURAL = {"setting": "settings", "reminder rule": "reminder rules", "job centre": "job centres",
           "closed day": "closed days", "reminder settings": "reminder settings",
           "attendance policy": "attendance policies",
           "information session": "information sessions"}


@dataclass
class ImportSummary:
    """How many things of each kind were created, updated or left as they were."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, kind: str, outcome: str) -> None:
        self.counts.setdefault(kind, Counter())[outcome] += 1

    def count(self, kind: str, outcome: str) -> int:
        return self.counts.get(kind, Counter())[outcome]

    def lines(self) -> list[str]:
        lines = []
        for kind in KINDS:
            counts = self.counts.get(kind)
            if counts:
                parts = [f"{counts[o]} {o}" for o in (CREATED, UPDATED, UNCHANGED) if counts[o]]
                lines.append(f"{_PLURAL[kind]}: {', '.join(parts)}")
        return lines or ["the file configures nothing"]

    def details(self) -> dict[str, dict[str, int]]:
        return {kind: dict(self.counts[kind]) for kind in KINDS if kind in self.counts}


def import_config(db: Session, now: datetime, text: str | bytes, *, dry_run: bool = False,
                  actor: Person | None = None) -> ImportSummary:
    """Check the whole file, then apply it; raises ConfigRejected (nothing changed) or
    ConfigUnreadable. With ``dry_run`` everything is checked and then undone."""
    parsed = parse(text)
    savepoint = db.begin_nested()
    try:
        importer = _Importer(db, now, actor, parsed)
        importer.apply()
        problems = parsed.problems + importer.problems
        if problems:
            raise ConfigRejected(problems)
        audit.record(db, now, "config.import", actor=actor, counts=importer.summary.details())
        db.flush()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return importer.summary


class _Importer:
    def __init__(self, db: Session, now: datetime, actor: Person | None,
                 parsed: ParsedConfig) -> None:
        self.db, self.now, self.actor, self.parsed = db, now, actor, parsed
        self.problems: list[Problem] = []
        self.summary = ImportSummary()
        # Scopes (None: general) with new rules: their reminders are planned once, at the end.
        self.replan: set[int | None] = set()

    def step(self, path: Path, action: Callable[..., Any], *args: Any, label: str = "") -> Any:
        """Run one change in a savepoint; a refusal is noted and undone, and the rest goes on."""
        try:
            with self.db.begin_nested():
                return action(*args)
        except _Reported:
            return None
        except DomainError as error:
            message = explain(error)
            self.problems.append(self.parsed.problem(path, f"{label}: {message}" if label
                                                     else message))
            return None

    def apply(self) -> None:
        for setting in self.parsed.settings:
            self.step(setting.path, self._setting, *setting.value)
        for rule in self.parsed.reminder_rules:
            self.step(rule.path, self._rule, rule.value, None)
        for centre in self.parsed.centres:
            self._centre(centre)
        # New general rules apply at every centre: then one re-plan covers them all.
        scopes = ([None] if None in self.replan
                  else sorted(c for c in self.replan if c is not None))
        for centre_id in scopes:
            reminders.refresh_centre(self.db, self.now, centre_id, reason="rule_changed")

    # -- organisation --------------------------------------------------------------------
    def _setting(self, key: str, value: Any) -> None:
        if org_settings.get(self.db, key) == value:
            self.summary.add("setting", UNCHANGED)
            return
        org_settings.set_value(self.db, self.now, key, value, actor=self.actor)
        self.summary.add("setting", UPDATED)

    def _rule(self, config: RuleConfig, centre: JobCentre | None) -> None:
        spec = config.spec
        scope = (ReminderRule.job_centre_id.is_(None) if centre is None
                 else ReminderRule.job_centre_id == centre.id)
        same = [rule for rule in self.db.scalars(select(ReminderRule).where(
                    scope, ReminderRule.event_kind == spec.event_kind))
                if timing_key(rule) == config.key]
        if not same:
            rule = reminder_rules.create(self.db, self.now, spec, job_centre=centre,
                                         actor=self.actor, replan=False)
            if config.enabled is False:
                reminder_rules.set_enabled(self.db, self.now, rule.id, False, actor=self.actor)
            self.replan.add(centre.id if centre is not None else None)
            self.summary.add("reminder rule", CREATED)
            return
        # An old disabled copy may sit beside the rule in use: the enabled one is meant.
        rule = max(same, key=lambda r: (r.enabled, r.id))
        outcome = UNCHANGED
        if "texts" in config.model_fields_set and dict(rule.texts or {}) != dict(spec.texts):
            reminder_rules.update(self.db, self.now, rule.id, actor=self.actor,
                                  texts=dict(spec.texts))
            outcome = UPDATED
        if config.enabled is not None and config.enabled != rule.enabled:
            reminder_rules.set_enabled(self.db, self.now, rule.id, config.enabled,
                                       actor=self.actor)
            outcome = UPDATED
        self.summary.add("reminder rule", outcome)

    # -- a job centre --------------------------------------------------------------------
    def _centre(self, parsed: ParsedCentre) -> None:
        if parsed.head is None:
            return  # its problems are listed; its parts cannot be checked without it
        centre: JobCentre | None = self.step(parsed.path, self._centre_head, parsed.head)
        if centre is None:
            return
        for day in parsed.closed_days:
            self.step(day.path, self._closed_day, centre, day.value)
        if parsed.reminder_settings is not None:
            self.step(parsed.reminder_settings.path, self._reminder_settings, centre,
                      parsed.reminder_settings.value)
        if parsed.attendance_policy is not None:
            self.step(parsed.attendance_policy.path, self._policy, centre,
                      parsed.attendance_policy)
        for rule in parsed.reminder_rules:
            self.step(rule.path, self._rule, rule.value, centre)
        self._sessions(centre, parsed)

    def _centre_head(self, head: CentreHead) -> JobCentre:
        centre = centres.by_name(self.db, head.name)
        given = head.model_fields_set
        if centre is None:
            extra = {"timezone": head.timezone} if head.timezone is not None else {}
            centre = centres.create(self.db, self.now, name=head.name, address=head.address or "",
                                    latitude=head.latitude, longitude=head.longitude,
                                    actor=self.actor, **extra)
            if head.disabled:
                centres.set_disabled(self.db, self.now, centre, True, actor=self.actor)
            self.summary.add("job centre", CREATED)
            return centre
        changed = False
        if head.address is not None and head.address != centre.address:
            centres.set_address(self.db, self.now, centre, head.address, actor=self.actor)
            changed = True
        if ({"latitude", "longitude"} & given
                and (head.latitude, head.longitude) != (centre.latitude, centre.longitude)):
            centres.set_location(self.db, self.now, centre, head.latitude, head.longitude,
                                 actor=self.actor)
            changed = True
        if head.timezone is not None and head.timezone != centre.timezone:
            centres.set_timezone(self.db, self.now, centre, head.timezone, actor=self.actor)
            changed = True
        if head.disabled is not None and head.disabled != (centre.disabled_at is not None):
            centres.set_disabled(self.db, self.now, centre, head.disabled, actor=self.actor)
            changed = True
        self.summary.add("job centre", UPDATED if changed else UNCHANGED)
        return centre

    def _closed_day(self, centre: JobCentre, config: ClosedDayConfig) -> None:
        existing = self.db.scalar(select(ClosedDay).where(ClosedDay.job_centre_id == centre.id,
                                                          ClosedDay.day == config.date))
        note = (config.note or "").strip()
        if existing is None:
            closed_days.add(self.db, self.now, centre, config.date, note, actor=self.actor)
            self.summary.add("closed day", CREATED)
        elif config.note is not None and existing.note != note:
            # The service has no "change the note": replaced, both steps audited.
            closed_days.remove(self.db, self.now, existing, actor=self.actor)
            closed_days.add(self.db, self.now, centre, config.date, note, actor=self.actor)
            self.summary.add("closed day", UPDATED)
        else:
            self.summary.add("closed day", UNCHANGED)

    def _reminder_settings(self, centre: JobCentre, config: ReminderSettingsConfig) -> None:
        current = reminder_settings.for_centre(self.db, centre.id)
        have = {"quiet_start": current.quiet.start, "quiet_end": current.quiet.end,
                "quiet_weekends": current.quiet.weekends,
                "deadline_calendar_days": current.deadline_calendar_days}
        want = {"quiet_start": config.quiet_start, "quiet_end": config.quiet_end,
                "quiet_weekends": config.quiet_weekends,
                "deadline_calendar_days": (None if config.deadline_days is None
                                           else config.deadline_days == "calendar")}
        changes = {k: v for k, v in want.items() if v is not None and v != have[k]}
        if changes:
            reminder_settings.update(self.db, self.now, centre, actor=self.actor, **changes)
        self.summary.add("reminder settings", UPDATED if changes else UNCHANGED)

    def _policy(self, centre: JobCentre, item: Item[PolicyConfig]) -> None:
        existed = self.db.scalar(select(AttendancePolicy.id).where(
            AttendancePolicy.job_centre_id == centre.id)) is not None
        policy = attendance_policy.policy_for(self.db, self.now, centre.id)
        changes = {}
        for name, value in item.value.model_dump(exclude_unset=True).items():
            if name == "weekdays":
                value = "".join(str(day) for day in value)
            elif name == "absence_reasons":
                value = attendance_policy.parse_reasons(value)
            if getattr(policy, name) != value:
                changes[name] = value
        if changes:
            try:
                with self.db.begin_nested():
                    attendance_policy.update(self.db, self.now, centre, actor=self.actor,
                                             **changes)
            except DomainError as error:
                self._policy_problems(centre, item.path, changes, error)
        self.summary.add("attendance policy", CREATED if not existed
                         else UPDATED if changes else UNCHANGED)

    def _policy_problems(self, centre: JobCentre, path: Path, changes: dict[str, Any],
                         error: DomainError) -> None:
        """The service names only its first objection: try each change alone to point at
        every bad field; the changes together are at fault if none is alone."""
        found = False
        for name, value in changes.items():
            try:
                with self.db.begin_nested() as trial:
                    attendance_policy.update(self.db, self.now, centre, actor=self.actor,
                                             **{name: value})
                    trial.rollback()
            except DomainError as alone:
                self.problems.append(self.parsed.problem((*path, name), explain(alone)))
                found = True
        if not found:
            self.problems.append(self.parsed.problem(path, explain(error)))
        raise _Reported

    # -- information sessions ------------------------------------------------------------
    def _sessions(self, centre: JobCentre, parsed: ParsedCentre) -> None:
        zone = ZoneInfo(centre.timezone)
        planned: set[datetime] = set()
        for session in parsed.info_sessions:
            planned.add(session.value.start)
            self.step(session.path, self._session, centre, zone, session.value.start,
                      session.value)
        # After the closed days: a schedule skips those too.
        calendar = calendar_for(self.db, centre.id)
        today = self.now.astimezone(zone).date()
        for schedule in parsed.schedule:
            for start in schedule_starts(schedule.value, today, calendar.is_working_day):
                if start in planned:
                    continue  # a session the file gives itself, or an earlier schedule's
                planned.add(start)
                self.step(schedule.path, self._session, centre, zone, start, schedule.value,
                          label=f"{start:%Y-%m-%d %H:%M}")

    def _session(self, centre: JobCentre, zone: ZoneInfo, local_start: datetime,
                 config: SessionConfig | ScheduleConfig) -> None:
        starts_at, _ = info_sessions.parse_when(f"{local_start:%Y-%m-%d %H:%M}", zone)
        values: dict[str, Any] = {}
        if config.duration_minutes is not None:
            values["duration"] = timedelta(minutes=config.duration_minutes)
        for name in ("place", "language", "capacity"):
            if getattr(config, name) is not None:
                values[name] = getattr(config, name)
        existing = self.db.scalar(select(InfoSession).where(
            InfoSession.job_centre_id == centre.id, InfoSession.starts_at == starts_at,
            InfoSession.cancelled_at.is_(None)).order_by(InfoSession.id).limit(1))
        if existing is None:
            info_sessions.create(self.db, self.now, job_centre=centre, starts_at=starts_at,
                                 latitude=config.latitude, longitude=config.longitude,
                                 actor=self.actor, **values)
            self.summary.add("information session", CREATED)
            return
        if (config.latitude is not None
                and (config.latitude, config.longitude) != (existing.latitude,
                                                            existing.longitude)):
            raise DomainError("The coordinates of an existing information session cannot be "
                              "changed; cancel it and add a new one.")
        current = {"duration": existing.ends_at - existing.starts_at, "place": existing.place,
                   "language": existing.language, "capacity": existing.capacity}
        changes = {k: v for k, v in values.items() if v != current[k]}
        if changes:
            # Refused for a session that has started; booked aspirants hear of a new place.
            info_sessions.update(self.db, self.now, existing.id, actor=self.actor, **changes)
        self.summary.add("information session", UPDATED if changes else UNCHANGED)


def schedule_starts(schedule: ScheduleConfig, today: date,
                    is_working_day: Callable[[date], bool]) -> list[datetime]:
    """Local starts of a schedule: its weekdays in the ``weeks`` weeks after ``today``,
    skipping public holidays and the centre's closed days."""
    starts = []
    for offset in range(1, 7 * schedule.weeks + 1):
        day = today + timedelta(days=offset)
        if day.isoweekday() in schedule.weekdays and is_working_day(day):
            starts.append(datetime.combine(day, schedule.time))
    return starts
