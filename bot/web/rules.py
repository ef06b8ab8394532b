"""Reminder rules: a table per event kind, a form with the texts side by side, and a
preview of what a draft would send in the next two weeks, before it is saved.

Access is the chat's (handlers/admin_access.py): an admin of every centre changes the
general rules; an admin of one centre changes that centre's rules and reads the general
ones. Saving goes through the rules service, which validates again, re-plans the
reminders and writes the audit entry, exactly as from the chat or a configuration file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config.schema import parse_offset
from bot.errors import DomainError, NotFound
from bot.i18n import LANGUAGES, N_, RIGHT_TO_LEFT, Translator, translator
from bot.models import (
    Audience,
    Enrolment,
    EventKind,
    JobCentre,
    OutboxMessage,
    OutboxStatus,
    Person,
    ReminderRule,
)
from bot.presentation.render import render as render_message
from bot.presentation.rule_words import (
    AUDIENCE_NAMES,
    EVENT_NAMES,
    TIMING_PROMPT,
    capitalised,
    describe_timing,
)
from bot.services.centres import admin_access
from bot.services.reminders import forecast as rule_forecast
from bot.services.reminders import preview as rule_preview
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders.rules import RuleSpec
from bot.web.base import (
    ADMIN,
    Viewer,
    in_console,
    parse_id,
    query_int,
    render,
    route_int,
    see_other,
)
from bot.web.words import skip_reason

# What a new rule's timing field starts with, per event kind.
NEW_TIMING = {
    EventKind.INFO_SESSION: "-1d",
    EventKind.CHECK_IN: "-15m",
    EventKind.FIRST_PLAN: "-2wd 09:00",
    EventKind.DEEPENED_PLAN: "-2wd 09:00",
    EventKind.REVIEW: "-2wd 09:00",
}
PREVIEW_ROWS = 150
OUTCOMES = {
    rule_forecast.SEND: N_("goes out then"),
    rule_forecast.MOVED: N_("moved out of the quiet hours"),
    rule_forecast.QUIET_HOURS: N_("not sent: it would fall in the quiet hours"),
    rule_forecast.MERGED: N_("not sent: another reminder reaches them at the same moment"),
}


# --- who may read and change what ----------------------------------------------------------
def _scope_of(value: int | None) -> int | None:
    return value or None


def _may_read(person: Person, centre_id: int | None) -> None:
    # General rules concern every admin; a centre's own rules only its admins (as in chat).
    if centre_id is not None:
        admin_access.require(person, centre_id)


def _scopes(db: Session, viewer: Viewer) -> list[dict[str, Any]]:
    t = viewer.t
    scopes = [{"id": 0, "name": t._("General rules")}]
    scopes += [{"id": c.id, "name": c.name}
               for c in admin_access.changeable_centres(db, viewer.person)]
    return scopes


def _centre_name(db: Session, t: Translator, centre_id: int | None) -> str:
    if centre_id is None:
        return t._("general")
    centre = db.get(JobCentre, centre_id)
    if centre is None:
        raise NotFound(N_("That job centre no longer exists."))
    return centre.name


# --- words -------------------------------------------------------------------------------------


def _rule_row(t: Translator, rule: ReminderRule, default_language: str) -> dict[str, Any]:
    spec = reminder_rules.spec_of(rule)
    texts = rule.texts or {}
    return {
        "id": rule.id,
        "when": capitalised(describe_timing(t, spec)),
        "short": reminder_rules.format_offset(rule),
        "audience": capitalised(t._(AUDIENCE_NAMES[rule.audience])),
        "enabled": rule.enabled,
        "general": False,
        "texts": [{"code": code, "name": name, "own": code in texts,
                   "fallback": _fallback(t, code, texts, default_language)}
                  for code, name in LANGUAGES.items()],
    }


def _fallback(t: Translator, code: str, texts: Mapping[str, str], default: str) -> str:
    """What a language without a text of its own gets."""
    if code in texts:
        return ""
    if default in texts:
        return t._("uses the {language} text", language=LANGUAGES[default])
    return t._("built-in text")


# --- the list ---------------------------------------------------------------------------------
async def index(request: web.Request) -> web.Response:
    asked = query_int(request, "scope")

    def work(db: Session, viewer: Viewer) -> dict[str, Any]:
        t = viewer.t
        allowed = admin_access.admin_centres(viewer.person)
        if asked is None:
            # An admin of one centre starts at their centre's rules.
            scope = None if allowed is None or not allowed else min(
                (c.id for c in admin_access.changeable_centres(db, viewer.person)), default=None)
        else:
            scope = _scope_of(asked)
        _may_read(viewer.person, scope)
        name = _centre_name(db, t, scope)
        listed = reminder_rules.listed(db, scope)
        rules = [r for r in listed if r.job_centre_id == scope]
        default = viewer.settings.default_language
        kinds = []
        for kind in EventKind:
            own = [r for r in rules if r.event_kind == kind]
            uses_general = scope is not None and not any(r.enabled for r in own)
            rows = [_rule_row(t, r, default) for r in own]
            if uses_general:
                # What applies here meanwhile: the general rules, to read (and copy from).
                rows += [{**_rule_row(t, r, default), "general": True} for r in listed
                         if r.job_centre_id is None and r.event_kind == kind and r.enabled]
            kinds.append({"kind": kind.value, "name": capitalised(t._(EVENT_NAMES[kind])),
                          "rules": rows, "uses_general": uses_general})
        return {"scopes": _scopes(db, viewer), "scope": scope or 0, "scope_name": name,
                "may_change": admin_access.may_change(viewer.person, scope), "kinds": kinds,
                "languages": LANGUAGES}

    viewer, data = await in_console(request, work, roles=ADMIN)
    return render(request, "rules.html", viewer=viewer, section="rules", **data)


# --- the form ---------------------------------------------------------------------------------
@dataclass
class Draft:
    """The form's values as typed (shown back as they were, even when invalid)."""

    rule_id: int | None
    scope: int | None
    kind: EventKind
    audience: str
    timing: str
    texts: dict[str, str]

    def spec(self) -> RuleSpec:
        """The draft as a rule, with the same parsing and errors as a configuration file."""
        days, minutes, working, at = parse_offset(self.timing.strip() or "0")
        return reminder_rules.validate(RuleSpec(self.kind, self.audience, days,  # type: ignore[arg-type]
                                                minutes, working, at, dict(self.texts)))


def _draft_of(rule: ReminderRule) -> Draft:
    return Draft(rule.id, rule.job_centre_id, rule.event_kind, rule.audience.value,
                 reminder_rules.format_offset(rule), dict(rule.texts or {}))


def _draft_from_form(form: Mapping[str, Any]) -> Draft:
    rule = str(form.get("rule") or "")
    scope = str(form.get("scope") or "")
    try:
        kind = EventKind(str(form.get("kind") or ""))
    except ValueError:
        raise DomainError(N_("Unknown event kind: {value}"),
                          value=str(form.get("kind") or "")[:40]) from None
    texts = {code: str(form.get(f"text_{code}") or "").replace("\r\n", "\n")
             for code in LANGUAGES}
    return Draft(parse_id(rule), parse_id(scope) or None, kind, str(form.get("audience") or Audience.ASPIRANT.value)[:20],
                 str(form.get("timing") or "")[:60], {k: v for k, v in texts.items() if v.strip()})


def _check_draft_access(db: Session, viewer: Viewer, draft: Draft) -> None:
    """The scope comes from the saved rule when there is one: the form is not trusted."""
    if draft.rule_id is not None:
        rule = reminder_rules.get(db, draft.rule_id)
        if rule.event_kind != draft.kind:
            raise DomainError(N_("A rule's event cannot be changed; create a new rule instead."))
        draft.scope = rule.job_centre_id
    admin_access.require(viewer.person, draft.scope)
    if draft.scope is not None:
        admin_access.centre(db, draft.scope)


def _form_context(db: Session, viewer: Viewer, draft: Draft, *, may_change: bool,
                  rule: ReminderRule | None) -> dict[str, Any]:
    t = viewer.t
    default = viewer.settings.default_language
    audiences = [Audience.ASPIRANT] if draft.kind == EventKind.CHECK_IN else list(Audience)
    placeholders = ", ".join("{" + n + "}"
                             for n in sorted(reminder_rules.PLACEHOLDERS[draft.kind]))
    try:
        timing_said = capitalised(describe_timing(t, draft.spec()))
    except DomainError:
        timing_said = ""
    return {
        "draft": draft,
        "timing_said": timing_said,
        "kind_name": capitalised(t._(EVENT_NAMES[draft.kind])),
        "scope_name": _centre_name(db, t, draft.scope),
        "audiences": [{"value": a.value, "name": capitalised(t._(AUDIENCE_NAMES[a]))}
                      for a in audiences],
        "timing_help": t._(TIMING_PROMPT),
        "placeholders": placeholders,
        "languages": [{"code": code, "name": name,
                       "dir": "rtl" if code in RIGHT_TO_LEFT else "ltr",
                       "text": draft.texts.get(code, ""),
                       "fallback": _fallback(t, code, draft.texts, default)}
                      for code, name in LANGUAGES.items()],
        "default_language_name": LANGUAGES[default],
        "may_change": may_change,
        "enabled": rule.enabled if rule is not None else True,
        "planned": _planned(db, viewer, rule) if rule is not None else None,
    }


def _planned(db: Session, viewer: Viewer, rule: ReminderRule) -> list[dict[str, Any]]:
    """What the outbox holds from this rule for the next two weeks (after saving: the
    re-planned reminders)."""
    now = viewer.now
    t = viewer.t
    rows = db.execute(
        select(OutboxMessage, Person).join(Person, Person.id == OutboxMessage.recipient_id)
        .where(OutboxMessage.rule_id == rule.id,
               OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SKIPPED)),
               OutboxMessage.due_at >= now,
               OutboxMessage.due_at < now + timedelta(days=rule_forecast.HORIZON_DAYS))
        .order_by(OutboxMessage.due_at, OutboxMessage.id).limit(PREVIEW_ROWS))
    audience = capitalised(t._(AUDIENCE_NAMES[rule.audience]))
    return [{"when": f"{t.short_date(message.due_at)} {t.time(message.due_at)}",
             "to": (person.display_name or "?") if _may_see(db, viewer, person) else audience,
             "language": LANGUAGES.get(person.language, person.language),
             "state": (t._("planned") if message.status == OutboxStatus.PENDING
                       else skip_reason(t, message.skip_reason))}
            for message, person in rows]


def _may_see(db: Session, viewer: Viewer, person: Person) -> bool:
    """Whether the viewer (an admin) may see who this is: someone enrolled or working at
    a centre they administer."""
    allowed = admin_access.admin_centres(viewer.person)
    if allowed is None:
        return True
    centres = {grant.job_centre_id for grant in person.roles}
    centres |= set(db.scalars(select(Enrolment.job_centre_id).where(
        Enrolment.aspirant_id == person.id, Enrolment.left_at.is_(None))))
    return bool(centres & allowed)


async def show(request: web.Request) -> web.Response:
    rule_id = route_int(request, "rule_id")

    def work(db: Session, viewer: Viewer) -> dict[str, Any]:
        rule = reminder_rules.get(db, rule_id)
        _may_read(viewer.person, rule.job_centre_id)
        draft = _draft_of(rule)
        context = _form_context(db, viewer, draft, rule=rule,
                                may_change=admin_access.may_change(viewer.person,
                                                                   rule.job_centre_id))
        return {**context, **_previewed(db, viewer, draft.spec(), draft)}

    viewer, data = await in_console(request, work, roles=ADMIN)
    return render(request, "rule.html", viewer=viewer, section="rules",
                  saved=request.query.get("saved") == "1", problem=None, **data)


async def new(request: web.Request) -> web.Response:
    scope = _scope_of(query_int(request, "scope"))
    try:
        kind = EventKind(request.query.get("kind", ""))
    except ValueError:
        raise web.HTTPNotFound() from None

    def work(db: Session, viewer: Viewer) -> dict[str, Any]:
        draft = Draft(None, scope, kind, Audience.ASPIRANT.value, NEW_TIMING[kind], {})
        _check_draft_access(db, viewer, draft)
        return _form_context(db, viewer, draft, may_change=True, rule=None)

    viewer, data = await in_console(request, work, roles=ADMIN)
    return render(request, "rule.html", viewer=viewer, section="rules", saved=False,
                  problem=None, forecast=None, samples=None, **data)


async def preview(request: web.Request) -> web.Response:
    """The draft in the form, checked, with what it would send; nothing is saved."""
    form = await request.post()

    def work(db: Session, viewer: Viewer) -> dict[str, Any]:
        draft = _draft_from_form(form)
        rule = reminder_rules.get(db, draft.rule_id) if draft.rule_id is not None else None
        if rule is not None:
            draft.scope = rule.job_centre_id
        _may_read(viewer.person, draft.scope)
        may_change = admin_access.may_change(viewer.person, draft.scope)
        context = _form_context(db, viewer, draft, may_change=may_change, rule=rule)
        try:
            spec = draft.spec()
        except DomainError as problem:
            return {**context, "problem": viewer.t._(problem.message, **problem.params),
                    "forecast": None, "samples": None}
        return {**context, "problem": None, **_previewed(db, viewer, spec, draft)}

    viewer, data = await in_console(request, work, roles=ADMIN)
    return render(request, "rule.html", viewer=viewer, section="rules", saved=False,
                  status=400 if data["problem"] else 200, **data)


def _previewed(db: Session, viewer: Viewer, spec: RuleSpec, draft: Draft) -> dict[str, Any]:
    """The preview and the samples; nothing of computing them is kept."""
    # The planner may create a centre's default attendance policy: undo all of it.
    savepoint = db.begin_nested()
    try:
        return {"forecast": _forecast(db, viewer, spec, draft),
                "samples": _samples(db, viewer, spec, draft.scope)}
    finally:
        savepoint.rollback()


def _forecast(db: Session, viewer: Viewer, spec: RuleSpec, draft: Draft) -> dict[str, Any]:
    t = viewer.t
    person = viewer.person
    found = rule_forecast.forecast(
        db, viewer.now, spec, scope_centre_id=draft.scope, rule_id=draft.rule_id,
        may_see_names=lambda centre_id: admin_access.may_change(person, centre_id))
    centres = {c.id: c for c in db.scalars(select(JobCentre).where(
        JobCentre.id.in_(found.centre_ids or [0])))}
    outcomes = Counter(m.outcome for m in found.messages)
    languages = Counter(m.language for m in found.messages
                        if m.outcome in (rule_forecast.SEND, rule_forecast.MOVED))
    audience = capitalised(t._(AUDIENCE_NAMES[spec.audience]))
    rows = []
    for message in found.messages[:PREVIEW_ROWS]:
        centre = centres.get(message.centre_id)
        zone_t = t.in_zone(centre.timezone) if centre is not None else t
        note = t._(OUTCOMES[message.outcome])
        if message.outcome == rule_forecast.MOVED:
            note = t._("moved out of the quiet hours (planned for {time})",
                       time=zone_t.time(message.planned_at))
        rows.append({
            "when": f"{zone_t.short_date(message.due_at)} {zone_t.time(message.due_at)}",
            "to": message.recipient_name or audience,
            "centre": centre.name if centre is not None else "",
            "language": LANGUAGES.get(message.language, message.language),
            "outcome": message.outcome, "note": note,
            "closed_day": message.closed_day_moved,
        })
    going = outcomes[rule_forecast.SEND] + outcomes[rule_forecast.MOVED]
    return {
        "rows": rows,
        "more": max(0, len(found.messages) - PREVIEW_ROWS),
        "total": going,
        "moved": outcomes[rule_forecast.MOVED],
        "quiet_skipped": outcomes[rule_forecast.QUIET_HOURS],
        "merged": outcomes[rule_forecast.MERGED],
        "closed_days": sum(1 for m in found.messages if m.closed_day_moved),
        "languages": [{"name": LANGUAGES.get(code, code), "count": count} for code, count
                      in sorted(languages.items(), key=lambda i: (-i[1], i[0]))],
        "recipients": len({m.recipient_id for m in found.messages
                           if m.outcome in (rule_forecast.SEND, rule_forecast.MOVED)}),
        "no_check_in": [{"day": t.short_date(item.day),
                         "centre": centres[item.centre_id].name if item.centre_id in centres
                         else "", "count": item.aspirants} for item in found.no_check_in],
        "replaces_general": found.replaces_general,
        "centres": len(found.centre_ids),
        "days": rule_forecast.HORIZON_DAYS,
    }


def _samples(db: Session, viewer: Viewer, spec: RuleSpec, scope: int | None
             ) -> dict[str, Any]:
    """The message in each language for a sample event, as the dispatcher would word it."""
    sample = rule_preview.sample(db, viewer.now, spec, scope, viewer.settings.timezone)
    t = viewer.t.in_zone(sample.zone)
    event_when = (f"{t.date(sample.event_day)} {t.time(sample.event_time)}"
                  if sample.event_time is not None else t.date(sample.event_day))
    default = viewer.settings.default_language
    texts = []
    for code, name in LANGUAGES.items():
        text = render_message(sample.message, translator(code, sample.zone), default).text
        if code in spec.texts:
            heading = t._("{language}:", language=name)
        elif default in spec.texts:
            heading = t._("{language} (no text in this language; the {fallback} text is "
                          "used):", language=name, fallback=LANGUAGES[default])
        else:
            heading = t._("{language} (built-in text):", language=name)
        texts.append({"code": code, "heading": heading, "text": text,
                      "dir": "rtl" if code in RIGHT_TO_LEFT else "ltr"})
    return {
        "intro": t._("Preview for a sample {event} on {when}; the reminder is sent {sent}.",
                     event=t._(EVENT_NAMES[spec.event_kind]), when=event_when,
                     sent=t.datetime(sample.due_at)),
        "quiet": sample.in_quiet_hours,
        "texts": texts,
    }


async def save(request: web.Request) -> web.StreamResponse:
    """Create or change the rule; the service re-plans its reminders and audits it."""
    form = await request.post()

    def work(db: Session, viewer: Viewer) -> tuple[int | None, dict[str, Any]]:
        draft = _draft_from_form(form)
        _check_draft_access(db, viewer, draft)
        rule = reminder_rules.get(db, draft.rule_id) if draft.rule_id is not None else None
        try:
            spec = draft.spec()
            if rule is None:
                centre = admin_access.centre(db, draft.scope) if draft.scope else None
                with db.begin_nested():
                    saved = reminder_rules.create(db, viewer.now, spec, job_centre=centre,
                                                  actor=viewer.person)
                return saved.id, {}
            changes = _changes(rule, spec)
            if not changes:
                return None, {**_form_context(db, viewer, draft, may_change=True, rule=rule),
                              "problem": None, "notice": viewer.t._("Nothing has changed.")}
            with db.begin_nested():
                reminder_rules.update(db, viewer.now, rule.id, actor=viewer.person, **changes)
            return rule.id, {}
        except DomainError as problem:
            # Refused (e.g. the same rule exists): the form stays as typed, nothing changed.
            return None, {**_form_context(db, viewer, draft, may_change=True, rule=rule),
                          "problem": viewer.t._(problem.message, **problem.params)}

    viewer, (saved_id, data) = await in_console(request, work, roles=ADMIN)
    if saved_id is not None:
        return see_other(f"/rules/{saved_id}?saved=1")
    return render(request, "rule.html", viewer=viewer, section="rules", saved=False,
                  forecast=None, samples=None, status=400 if data.get("problem") else 200,
                  **data)


def _changes(rule: ReminderRule, spec: RuleSpec) -> dict[str, Any]:
    """Only what differs, so the audit entry names the fields that really changed."""
    current = reminder_rules.spec_of(rule)
    changes: dict[str, Any] = {}
    timing = ("offset_days", "offset_minutes", "working_days", "at_local_time")
    if any(getattr(current, name) != getattr(spec, name) for name in timing):
        changes.update({name: getattr(spec, name) for name in timing})
    if current.audience != spec.audience:
        changes["audience"] = spec.audience
    if dict(current.texts) != dict(spec.texts):
        changes["texts"] = dict(spec.texts)
    return changes


async def switch(request: web.Request) -> web.StreamResponse:
    rule_id = route_int(request, "rule_id")
    form = await request.post()
    enable = str(form.get("enabled") or "") == "1"

    def work(db: Session, viewer: Viewer) -> None:
        rule = reminder_rules.get(db, rule_id)
        admin_access.require(viewer.person, rule.job_centre_id)
        reminder_rules.set_enabled(db, viewer.now, rule.id, enable, actor=viewer.person)

    await in_console(request, work, roles=ADMIN)
    return see_other(f"/rules/{rule_id}?saved=1")
