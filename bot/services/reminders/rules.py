"""Reminder rules: which event, how long before or after, for whom, in which words.

Admins change rules (in chat, from a file or on the command line); every change is
validated first (a bad offset, language or placeholder changes nothing) and the
reminders it affects are planned again.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import DomainError, NotFound
from bot.i18n import LANGUAGES, N_
from bot.models import Audience, EventKind, JobCentre, Person, ReminderRule
from bot.services.reminders import planner as reminders
from bot.services.reminders.arithmetic import DEFAULT_DEADLINE_TIME
from bot.services.reminders.centre_facts import rules_in_force
from bot.services.system import audit

MILESTONE_EVENTS = (EventKind.FIRST_PLAN, EventKind.DEEPENED_PLAN, EventKind.REVIEW)
# Events with a time of day; the others are due on a date.
TIMED_EVENTS = (EventKind.INFO_SESSION, EventKind.CHECK_IN)
MAX_OFFSET_DAYS = 120
MAX_OFFSET_MINUTES = 7 * 24 * 60
MAX_TEXT = 1000

# What a rule's own text may use, per event kind.
PLACEHOLDERS: dict[EventKind, frozenset[str]] = {
    EventKind.INFO_SESSION: frozenset({"date", "time", "place", "name", "centre"}),
    EventKind.CHECK_IN: frozenset({"date", "time", "name", "centre"}),
    **{kind: frozenset({"milestone", "date", "name", "coach", "centre"})
       for kind in MILESTONE_EVENTS},
}


@dataclass(frozen=True)
class RuleSpec:
    """A rule as plain data: what ``default_rules()`` returns and configuration files hold."""

    event_kind: EventKind
    audience: Audience
    offset_days: int = 0
    offset_minutes: int = 0
    working_days: bool = False
    at_local_time: time | None = None
    texts: Mapping[str, str] = field(default_factory=dict)


def default_rules() -> list[RuleSpec]:
    """The reminders a job centre starts with (the ones the reminder issue describes).

    Information session: the day before at the same time, and two hours before.
    Each plan deadline: two working days before and on the day (aspirant and coach),
    and the next working day when it is overdue (coach and team lead).
    Daily check-in: a quarter of an hour before the check-in window opens.
    """
    rules = [
        RuleSpec(EventKind.INFO_SESSION, Audience.ASPIRANT, offset_days=-1),
        RuleSpec(EventKind.INFO_SESSION, Audience.ASPIRANT, offset_minutes=-120),
    ]
    for kind in MILESTONE_EVENTS:
        for audience in (Audience.ASPIRANT, Audience.COACH):
            rules.append(RuleSpec(kind, audience, offset_days=-2, working_days=True,
                                  at_local_time=DEFAULT_DEADLINE_TIME))
            rules.append(RuleSpec(kind, audience, at_local_time=DEFAULT_DEADLINE_TIME))
        for audience in (Audience.COACH, Audience.TEAM_LEAD):
            rules.append(RuleSpec(kind, audience, offset_days=1, working_days=True,
                                  at_local_time=DEFAULT_DEADLINE_TIME))
    rules.append(RuleSpec(EventKind.CHECK_IN, Audience.ASPIRANT, offset_minutes=-15))
    return rules


_OFFSET = re.compile(r"^\s*([+-]?)\s*(\d{1,4})\s*(wd|d|h|m|min)\s*$", re.IGNORECASE)


def parse_offset(text: str) -> tuple[int, int, bool]:
    """``"-1d"``, ``"-2h"``, ``"-30m"``, ``"+1wd"`` (working days) or ``"0"``.

    Returns (days, minutes, working_days); negative is before the event.
    """
    if text.strip() in ("0", "+0", "-0"):
        return 0, 0, False
    match = _OFFSET.match(text)
    if match is None:
        raise DomainError(N_("Not an offset: {text}. Write for example -1d, -2h, -30m or +1wd."),
                          text=text)
    sign = -1 if match.group(1) == "-" else 1
    amount = sign * int(match.group(2))
    unit = match.group(3).lower()
    if unit == "wd":
        return amount, 0, True
    if unit == "d":
        return amount, 0, False
    if unit == "h":
        return 0, amount * 60, False
    return 0, amount, False


def format_offset(rule: ReminderRule | RuleSpec) -> str:
    """The offset in the same short form ``parse_offset`` reads (e.g. ``-2wd 09:00``)."""
    parts = []
    if rule.offset_days:
        parts.append(f"{rule.offset_days:+d}{'wd' if rule.working_days else 'd'}")
    if rule.offset_minutes:
        minutes = rule.offset_minutes
        parts.append(f"{minutes // 60:+d}h" if minutes % 60 == 0 else f"{minutes:+d}m")
    if not parts:
        parts.append("0")
    if rule.at_local_time is not None:
        parts.append(rule.at_local_time.strftime("%H:%M"))
    return " ".join(parts)


def validate(spec: RuleSpec) -> RuleSpec:
    """Check a rule; returns it normalised (date events get a time of day)."""
    kind = _enum(EventKind, spec.event_kind, N_("Unknown event kind: {value}"))
    audience = _enum(Audience, spec.audience, N_("Unknown audience: {value}"))
    if not isinstance(spec.offset_days, int) or abs(spec.offset_days) > MAX_OFFSET_DAYS:
        raise DomainError(N_("The offset must be at most {limit} days before or after."),
                          limit=MAX_OFFSET_DAYS)
    if not isinstance(spec.offset_minutes, int) or abs(spec.offset_minutes) > MAX_OFFSET_MINUTES:
        raise DomainError(N_("The offset in minutes must be at most a week before or after."))
    if spec.working_days and not spec.offset_days:
        raise DomainError(N_("Working days need an offset in days."))
    at = spec.at_local_time
    if at is not None and (at.second or at.microsecond or at.tzinfo is not None):
        raise DomainError(N_("The time of day is set in whole minutes."))
    if kind == EventKind.CHECK_IN:
        if audience != Audience.ASPIRANT:
            raise DomainError(N_("Check-in reminders go to aspirants only."))
        if spec.offset_days != 0:
            raise DomainError(N_("A check-in reminder is sent on the day of the check-in."))
    if kind not in TIMED_EVENTS and at is None:
        at = DEFAULT_DEADLINE_TIME
    texts = _check_texts(kind, spec.texts or {})
    return RuleSpec(kind, audience, spec.offset_days, spec.offset_minutes, spec.working_days,
                    at, texts)


def _enum(enum_cls, value, message):  # type: ignore[no-untyped-def]
    try:
        return enum_cls(value)
    except ValueError:
        raise DomainError(message, value=str(value)) from None


def _check_texts(kind: EventKind, texts: Mapping[str, str]) -> dict[str, str]:
    allowed = PLACEHOLDERS[kind]
    checked: dict[str, str] = {}
    for language, text in texts.items():
        if language not in LANGUAGES:
            raise DomainError(N_("Unknown language: {language}"), language=language)
        text = (text or "").strip()
        if not text:
            continue  # an empty text means "use the built-in text"
        if len(text) > MAX_TEXT:
            raise DomainError(N_("A reminder text may be at most {limit} characters."),
                              limit=MAX_TEXT)
        try:
            fields = [(name, spec, conv) for _, name, spec, conv
                      in string.Formatter().parse(text) if name is not None]
        except ValueError:
            fields = None
        if fields is None or any(not name or spec or conv for name, spec, conv in fields):
            raise DomainError(N_("The text in {language} has a broken placeholder: write "
                                 "placeholders like {example}."),
                              language=language, example="{date}")
        names = {name for name, _, _ in fields}
        unknown = sorted(names - allowed)
        if unknown:
            raise DomainError(
                N_("The text in {language} uses an unknown placeholder: {names}. "
                   "Allowed: {allowed}."),
                language=language, names=", ".join("{" + n + "}" for n in unknown),
                allowed=", ".join("{" + n + "}" for n in sorted(allowed)))
        checked[language] = text
    return checked


def _same_timing(rule: ReminderRule, spec: RuleSpec) -> bool:
    return (rule.event_kind == spec.event_kind and rule.audience == spec.audience
            and rule.offset_days == spec.offset_days
            and rule.offset_minutes == spec.offset_minutes
            and rule.working_days == spec.working_days
            and rule.at_local_time == spec.at_local_time)


def _refuse_duplicate(db: Session, spec: RuleSpec, job_centre_id: int | None,
                      ignore_id: int | None = None) -> None:
    query = select(ReminderRule).where(ReminderRule.enabled.is_(True),
                                       ReminderRule.event_kind == spec.event_kind)
    query = query.where(ReminderRule.job_centre_id.is_(None) if job_centre_id is None
                        else ReminderRule.job_centre_id == job_centre_id)
    for rule in db.scalars(query):
        if rule.id != ignore_id and _same_timing(rule, spec):
            raise DomainError(N_("There is already a rule like this (rule {id})."), id=rule.id)


def create(db: Session, now: datetime, spec: RuleSpec, *, job_centre: JobCentre | None = None,
           actor: Person | None = None, replan: bool = True) -> ReminderRule:
    spec = validate(spec)
    centre_id = job_centre.id if job_centre is not None else None
    _refuse_duplicate(db, spec, centre_id)
    rule = ReminderRule(
        job_centre_id=centre_id, event_kind=spec.event_kind, audience=spec.audience,
        offset_days=spec.offset_days, offset_minutes=spec.offset_minutes,
        working_days=spec.working_days, at_local_time=spec.at_local_time,
        texts=dict(spec.texts), enabled=True, created_at=now, updated_at=now,
    )
    db.add(rule)
    db.flush()
    audit.record(db, now, "rule.create", actor=actor, subject=rule)
    if replan:
        _replan(db, now, rule, "rule_changed")
    return rule


def update(db: Session, now: datetime, rule_id: int, *, actor: Person | None = None,
           **changes: object) -> ReminderRule:
    """Change some of a rule's fields (those of ``RuleSpec``); the rest stays."""
    rule = get(db, rule_id)
    unknown = set(changes) - set(RuleSpec.__dataclass_fields__) - {"event_kind"}
    if unknown:
        raise ValueError(f"not rule fields: {', '.join(sorted(unknown))}")
    if "event_kind" in changes and changes["event_kind"] != rule.event_kind:
        raise DomainError(N_("A rule's event cannot be changed; create a new rule instead."))
    current = spec_of(rule)
    values = {name: changes.get(name, getattr(current, name))
              for name in RuleSpec.__dataclass_fields__}
    spec = validate(RuleSpec(**values))  # type: ignore[arg-type]
    if rule.enabled:
        _refuse_duplicate(db, spec, rule.job_centre_id, ignore_id=rule.id)
    rule.audience = spec.audience
    rule.offset_days = spec.offset_days
    rule.offset_minutes = spec.offset_minutes
    rule.working_days = spec.working_days
    rule.at_local_time = spec.at_local_time
    rule.texts = dict(spec.texts)
    rule.updated_at = now
    db.flush()
    audit.record(db, now, "rule.update", actor=actor, subject=rule,
                 fields=sorted(changes))
    _replan(db, now, rule, "rule_changed")
    return rule


def set_enabled(db: Session, now: datetime, rule_id: int, enabled: bool, *,
                actor: Person | None = None) -> ReminderRule:
    rule = get(db, rule_id)
    if rule.enabled == enabled:
        return rule
    if enabled:
        _refuse_duplicate(db, spec_of(rule), rule.job_centre_id, ignore_id=rule.id)
    rule.enabled = enabled
    rule.updated_at = now
    db.flush()
    audit.record(db, now, "rule.enable" if enabled else "rule.disable", actor=actor,
                 subject=rule)
    _replan(db, now, rule, "rule_changed" if enabled else "rule_disabled")
    return rule


def get(db: Session, rule_id: int) -> ReminderRule:
    rule = db.get(ReminderRule, rule_id)
    if rule is None:
        raise NotFound(N_("There is no reminder rule {id}."), id=rule_id)
    return rule


def rules_for(db: Session, job_centre_id: int, kind: EventKind) -> list[ReminderRule]:
    """The enabled rules of ``kind`` in force at a centre (its own replace the general
    ones), as the planner reads them."""
    rules = db.scalars(select(ReminderRule).where(
        ReminderRule.enabled.is_(True), ReminderRule.event_kind == kind,
        (ReminderRule.job_centre_id == job_centre_id) | ReminderRule.job_centre_id.is_(None)))
    return rules_in_force(rules, job_centre_id, kind)


def spec_of(rule: ReminderRule) -> RuleSpec:
    return RuleSpec(rule.event_kind, rule.audience, rule.offset_days, rule.offset_minutes,
                    rule.working_days, rule.at_local_time, dict(rule.texts or {}))


def listed(db: Session, job_centre_id: int | None = None, *, everything: bool = False
           ) -> list[ReminderRule]:
    """Rules in order of event and timing; general rules and (optionally) one centre's."""
    query = select(ReminderRule)
    if not everything:
        query = query.where(ReminderRule.job_centre_id.is_(None)
                            | (ReminderRule.job_centre_id == job_centre_id))
    rules = list(db.scalars(query))
    order = list(EventKind)
    return sorted(rules, key=lambda r: (order.index(r.event_kind), r.job_centre_id or 0,
                                        r.offset_days, r.offset_minutes, r.id))


def install_defaults(db: Session, now: datetime, *, job_centre: JobCentre | None = None,
                     actor: Person | None = None) -> list[ReminderRule]:
    """Create the default rules unless rules exist already for that scope (idempotent)."""
    centre_id = job_centre.id if job_centre is not None else None
    scope = (ReminderRule.job_centre_id.is_(None) if centre_id is None
             else ReminderRule.job_centre_id == centre_id)
    if db.scalar(select(ReminderRule.id).where(scope).limit(1)) is not None:
        return []
    rules = [create(db, now, spec, job_centre=job_centre, actor=actor, replan=False)
             for spec in default_rules()]
    reminders.refresh_centre(db, now, centre_id, reason="rule_changed")
    return rules


def _replan(db: Session, now: datetime, rule: ReminderRule, reason: str) -> None:
    reminders.refresh_centre(db, now, rule.job_centre_id, kinds=[rule.event_kind],
                             reason=reason)
