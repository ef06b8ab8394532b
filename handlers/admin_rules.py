"""/admin → Reminder rules: list, create, change, switch off, and preview in every language.

Rules are general (used by every job centre that has no enabled rule of its own for
the event) or a job centre's own. An admin of every centre changes general rules; an
admin of one centre changes that centre's rules and may read the general ones.

A new rule or a change is a draft kept in the conversation state (flow
``admin_rules``): event, timing, audience, texts. It is validated at every step, shown
with a preview of the message in each language, and saved only on Save; the service
validates it again, re-plans the reminders and writes the audit entry. Access is
checked again on every press and every typed step.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler

from bot.errors import DomainError
from bot.i18n import LANGUAGES, N_, Translator, translator
from bot.models import Audience, ConversationState, EventKind, ReminderRule, Role
from bot.presentation import callbacks as cb
from bot.presentation.render import render
from bot.presentation.rule_words import (
    AUDIENCE_NAMES,
    EVENT_NAMES,
    TIMING_PROMPT,
    capitalised,
    describe_timing,
)
from bot.presentation.views import split_message
from bot.services.centres.admin_access import centre, changeable_centres, may_change, require
from bot.services.reminders import preview as rule_preview
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders import settings as reminder_settings
from bot.services.reminders.rules import RuleSpec
from bot.services.system import conversations
from handlers import admin
from handlers.base import Turn, on
from handlers.menu import text_step_handler, where_hint
from handlers.text_input import too_long

FLOW = "admin_rules"
ADMIN = frozenset({Role.ADMIN})

TEXT_PROMPT = N_("Send the reminder text in {language}. You can use these placeholders: "
                 "{placeholders}.\nSend - to remove the text of this language.")


# --- the draft ---------------------------------------------------------------------------------
def parse_timing(text: str) -> dict[str, Any]:
    """``-2wd 09:00``, ``-1d``, ``-2h``, ``0 09:00`` or just ``09:00`` (on the day)."""
    words = text.split()
    at: time | None = None
    if words and (":" in words[-1] or "." in words[-1]):
        at = reminder_settings.parse_clock(words[-1])
        words = words[:-1]
    days, minutes, working = reminder_rules.parse_offset(" ".join(words) or "0")
    return {"days": days, "minutes": minutes, "working": working,
            "at": at.isoformat("minutes") if at is not None else None}


def _spec(data: dict[str, Any]) -> RuleSpec:
    """The draft as a rule (an audience not chosen yet counts as aspirant, valid for all)."""
    at = data.get("at")
    return RuleSpec(EventKind(data["kind"]), Audience(data.get("audience") or Audience.ASPIRANT),
                    int(data.get("days") or 0), int(data.get("minutes") or 0),
                    bool(data.get("working")), time.fromisoformat(at) if at else None,
                    dict(data.get("texts") or {}))


def _draft_of(rule: ReminderRule) -> dict[str, Any]:
    return {"mode": "edit", "rule": rule.id, "scope": rule.job_centre_id,
            "kind": rule.event_kind.value, "audience": rule.audience.value,
            "days": rule.offset_days, "minutes": rule.offset_minutes,
            "working": rule.working_days,
            "at": rule.at_local_time.isoformat("minutes") if rule.at_local_time else None,
            "texts": dict(rule.texts or {}), "ready": True, "changed": []}


def _changes(data: dict[str, Any]) -> dict[str, Any]:
    spec = _spec(data)
    changes: dict[str, Any] = {}
    if "timing" in data["changed"]:
        changes.update(offset_days=spec.offset_days, offset_minutes=spec.offset_minutes,
                       working_days=spec.working_days, at_local_time=spec.at_local_time)
    if "audience" in data["changed"]:
        changes["audience"] = spec.audience
    if "texts" in data["changed"]:
        changes["texts"] = dict(spec.texts)
    return changes


def _with_change(data: dict[str, Any], what: str) -> list[str]:
    return sorted({*data.get("changed", []), what})


# --- words ---------------------------------------------------------------------------------
def _scope_name(turn: Turn, centre_id: int | None) -> str:
    return turn._("general") if centre_id is None else centre(turn.db, centre_id).name


def _rule_line(t: Translator, number: int, rule: ReminderRule) -> str:
    """One rule in the list, in words: "3. ✓ first job plan: 2 working days before, at
    09:00 (aspirant)"."""
    mark = "✓" if rule.enabled else "✗"
    return (f"{number}. {mark} {t._(EVENT_NAMES[rule.event_kind])}: "
            f"{describe_timing(t, rule)} ({t._(AUDIENCE_NAMES[rule.audience])})")


def _rule_label(t: Translator, number: int, rule: ReminderRule) -> str:
    """The rule's button: its number in the list and when it goes out, in words (short
    enough for a phone's width; the list above says the event and audience)."""
    mark = "✓" if rule.enabled else "✗"
    return f"{mark} {number}. {describe_timing(t, rule)}"


def _summary(turn: Turn, spec: RuleSpec, centre_id: int | None) -> list[str]:
    t = turn.t
    return [
        t._("Applies to: {scope}", scope=_scope_name(turn, centre_id)),
        t._("Event: {event}", event=t._(EVENT_NAMES[spec.event_kind])),
        t._("When: {when} ({short})", when=describe_timing(t, spec),
            short=reminder_rules.format_offset(spec)),
        t._("To: {audience}", audience=t._(AUDIENCE_NAMES[spec.audience])),
    ]


def preview_lines(turn: Turn, spec: RuleSpec, centre_id: int | None) -> list[str]:
    """The message in each language, rendered as the dispatcher renders it."""
    settings = turn.runtime.settings
    sample = rule_preview.sample(turn.db, turn.now, spec, centre_id, settings.timezone)
    t = turn.t.in_zone(sample.zone)
    event_when = (f"{t.date(sample.event_day)} {t.time(sample.event_time)}"
                  if sample.event_time is not None else t.date(sample.event_day))
    lines = [t._("Preview for a sample {event} on {when}; the reminder is sent {sent}.",
                 event=t._(EVENT_NAMES[spec.event_kind]), when=event_when,
                 sent=t.datetime(sample.due_at))]
    if sample.in_quiet_hours:
        lines.append(t._("That moment is in the quiet hours: the reminder moves to the next "
                         "allowed time, or is skipped if it is too late by then."))
    default = settings.default_language
    own = spec.texts
    for language, name in LANGUAGES.items():
        text = render(sample.message, translator(language, sample.zone), default).text
        if language in own:
            heading = t._("{language}:", language=name)
        elif default in own:
            heading = t._("{language} (no text in this language; the {fallback} text is "
                          "used):", language=name, fallback=LANGUAGES[default])
        else:
            heading = t._("{language} (built-in text):", language=name)
        lines += ["", heading, text]
    return lines


# --- showing ---------------------------------------------------------------------------------
def _button(t: Translator, label: str, data: cb.Callback) -> InlineKeyboardButton:
    return InlineKeyboardButton(t._(label), callback_data=data.encode())


def _markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(rows)


def _show_long(turn: Turn, text: str, markup: InlineKeyboardMarkup) -> None:
    """A text that may exceed one message: the buttons go on the last part."""
    parts = split_message(text)
    for index, part in enumerate(parts):
        extra = {"reply_markup": markup} if index == len(parts) - 1 else {}
        if index == 0:
            turn.edit_or_say(part, **extra)
        else:
            turn.say(part, **extra)


def _may_read(turn: Turn, centre_id: int | None) -> None:
    # General rules concern every admin; a centre's own rules only its admins.
    if centre_id is not None:
        require(turn.person, centre_id)


def _scopes(turn: Turn) -> None:
    rows = [[_button(turn.t, N_("General rules"), cb.RuleScope(0))]]
    rows += [[InlineKeyboardButton(c.name, callback_data=cb.RuleScope(c.id).encode())]
             for c in changeable_centres(turn.db, turn.person)]
    rows.append([_button(turn.t, N_("Back"), cb.AdminMenu())])
    turn.edit_or_say(
        turn._("Reminder rules. General rules apply at every job centre that has no enabled "
               "rules of its own for the event."), reply_markup=_markup(rows))


def _scope_view(turn: Turn, centre_id: int | None) -> None:
    _may_read(turn, centre_id)
    t = turn.t
    rules = [r for r in reminder_rules.listed(turn.db, centre_id)
             if r.job_centre_id == centre_id]
    if centre_id is None:
        lines = [t._("General reminder rules:")]
    else:
        lines = [t._("{centre}: reminder rules of its own", centre=_scope_name(turn, centre_id))]
        for kind in EventKind:
            own = any(r.enabled and r.event_kind == kind for r in rules)
            lines.append(t._("• {event}: its own rules", event=t._(EVENT_NAMES[kind])) if own
                         else t._("• {event}: the general rules", event=t._(EVENT_NAMES[kind])))
    if not rules and centre_id is None:
        lines.append(t._("None."))
    shown = rules[:40]  # a list of 40 rules in words still fits one message
    if shown:
        lines.append("")
        lines += [_rule_line(t, number, r) for number, r in enumerate(shown, start=1)]
    rows = [[InlineKeyboardButton(_rule_label(t, number, r),
                                  callback_data=cb.RuleView(r.id).encode())]
            for number, r in enumerate(shown, start=1)]
    if may_change(turn.person, centre_id):
        rows.append([_button(t, N_("New rule"), cb.NewRule(centre_id or 0))])
    rows.append([_button(t, N_("Back"), cb.RuleScopes())])
    turn.edit_or_say("\n".join(lines), reply_markup=_markup(rows))


def _rule_view(turn: Turn, rule_id: int) -> None:
    rule = reminder_rules.get(turn.db, rule_id)
    _may_read(turn, rule.job_centre_id)
    t = turn.t
    spec = reminder_rules.spec_of(rule)
    lines = [t._("Reminder rule {id}", id=rule.id), *_summary(turn, spec, rule.job_centre_id)]
    if rule.texts:
        lines.append(t._("Texts of its own: {languages}", languages=", ".join(
            LANGUAGES[code] for code in LANGUAGES if code in rule.texts)))
    else:
        lines.append(t._("No texts of its own: the built-in text is used."))
    if not rule.enabled:
        lines.append(t._("Switched off."))
    rows = []
    if may_change(turn.person, rule.job_centre_id):
        first = [_button(t, N_("Timing"), cb.EditRule("o", rule.id))]
        if rule.event_kind != EventKind.CHECK_IN:  # check-in reminders go to aspirants only
            first.append(_button(t, N_("Audience"), cb.EditRule("a", rule.id)))
        rows += [first,
                 [_button(t, N_("Texts"), cb.EditRule("t", rule.id)),
                  _button(t, N_("Preview"), cb.RulePreview(rule.id))],
                 [_button(t, N_("Switch off") if rule.enabled else N_("Switch on"),
                          cb.SwitchRule(rule.id))]]
    else:
        rows.append([_button(t, N_("Preview"), cb.RulePreview(rule.id))])
    rows.append([_button(t, N_("Back"), cb.RuleScope(rule.job_centre_id or 0))])
    turn.edit_or_say("\n".join(lines), reply_markup=_markup(rows))


def _rule_preview(turn: Turn, rule_id: int) -> None:
    rule = reminder_rules.get(turn.db, rule_id)
    _may_read(turn, rule.job_centre_id)
    lines = preview_lines(turn, reminder_rules.spec_of(rule), rule.job_centre_id)
    _show_long(turn, "\n".join(lines),
                     _markup([[_button(turn.t, N_("Back"), cb.RuleView(rule.id))]]))


NAVIGATION = (cb.RuleScopes, cb.RuleScope, cb.RuleView, cb.RulePreview)


@on(roles=ADMIN)
def navigate(turn: Turn) -> None:
    match turn.pressed(*NAVIGATION):
        case cb.RuleScopes():
            _scopes(turn)
        case cb.RuleScope(centre_id):
            _scope_view(turn, centre_id or None)
        case cb.RuleView(rule_id):
            _rule_view(turn, rule_id)
        case cb.RulePreview(rule_id):
            _rule_preview(turn, rule_id)
        case _:
            turn.stale()


# --- the steps of a draft ----------------------------------------------------------------------
def _check_access(turn: Turn, data: dict[str, Any]) -> None:
    """Again, from the database: may this person still change the rule or scope?"""
    if data.get("rule") is not None:
        rule = reminder_rules.get(turn.db, int(data["rule"]))
        require(turn.person, rule.job_centre_id)
    else:
        require(turn.person, data.get("scope"))
        if data.get("scope") is not None:
            centre(turn.db, data["scope"])


def _cancel_row(t: Translator) -> list[InlineKeyboardButton]:
    return [_button(t, N_("Cancel"), cb.RuleCancel())]


def _ask_kind(turn: Turn, centre_id: int | None) -> None:
    rows = [[InlineKeyboardButton(capitalised(turn._(name)),
                                  callback_data=cb.RuleEvent(kind).encode())]
            for kind, name in EVENT_NAMES.items()]
    rows.append(_cancel_row(turn.t))
    turn.edit_or_say(turn._("New reminder rule ({scope}). For which event?",
                                  scope=_scope_name(turn, centre_id)), reply_markup=_markup(rows))


def _ask_timing(turn: Turn, problem: str | None = None) -> None:
    text = turn._(TIMING_PROMPT)
    markup = _markup([_cancel_row(turn.t)])
    if problem is not None:
        turn.say(f"{problem}\n\n{text}", reply_markup=markup)
    else:
        turn.edit_or_say(text, reply_markup=markup)


def _audiences(kind: EventKind) -> list[Audience]:
    return [Audience.ASPIRANT] if kind == EventKind.CHECK_IN else list(Audience)


def _ask_audience(turn: Turn, data: dict[str, Any]) -> None:
    rows = [[InlineKeyboardButton(capitalised(turn._(AUDIENCE_NAMES[a])),
                                  callback_data=cb.RuleAudience(a).encode())]
            for a in _audiences(EventKind(data["kind"]))]
    rows.append(_cancel_row(turn.t))
    turn.edit_or_say(turn._("Who gets this reminder?"), reply_markup=_markup(rows))


def _show_texts(turn: Turn, data: dict[str, Any]) -> None:
    t = turn.t
    own = data.get("texts") or {}
    default = LANGUAGES[turn.runtime.settings.default_language]
    lines = [t._("Texts of its own: {languages}", languages=", ".join(
        LANGUAGES[c] for c in LANGUAGES if c in own)) if own
        else t._("No texts of its own: the built-in text is used.")]
    lines.append(t._("A language without a text of its own gets the {fallback} text if there "
                     "is one, else the built-in text in that language.", fallback=default))
    lines.append(t._("Choose a language to write or change its text, or go on to the preview."))
    buttons = [InlineKeyboardButton(("✓ " if code in own else "") + name,
                                    callback_data=cb.RuleTextLanguage(code).encode())
               for code, name in LANGUAGES.items()]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([_button(t, N_("Preview and save"), cb.RuleTextsDone())])
    rows.append(_cancel_row(t))
    turn.edit_or_say("\n".join(lines), reply_markup=_markup(rows))


def _text_prompt(turn: Turn, data: dict[str, Any]) -> str:
    kind = EventKind(data["kind"])
    language = data["lang"]
    text = turn._(TEXT_PROMPT, language=LANGUAGES[language], placeholders=", ".join(
        "{" + name + "}" for name in sorted(reminder_rules.PLACEHOLDERS[kind])))
    current = (data.get("texts") or {}).get(language)
    if current:
        text += "\n\n" + turn._("Current text:\n{text}", text=current)
    return text


def _text_markup(t: Translator) -> InlineKeyboardMarkup:
    return _markup([[_button(t, N_("Back"), cb.RuleFixTexts()), *_cancel_row(t)]])


def _confirm(turn: Turn, state: ConversationState) -> None:
    """Validate the whole draft, then show it with its preview and Save."""
    data = state.data
    spec = reminder_rules.validate(_spec(data))
    conversations.advance(turn.db, turn.now, state, "confirm", ready=True)
    lines = [*_summary(turn, spec, data.get("scope")), "",
             *preview_lines(turn, spec, data.get("scope")), "",
             turn._("Save this rule?")]
    t = turn.t
    fix = [_button(t, N_("Timing"), cb.RuleFixTiming())]
    if spec.event_kind != EventKind.CHECK_IN:
        fix.append(_button(t, N_("Audience"), cb.RuleFixAudience()))
    fix.append(_button(t, N_("Texts"), cb.RuleFixTexts()))
    _show_long(turn, "\n".join(lines), _markup([_save_row(t), fix]))


def _save_row(t: Translator) -> list[InlineKeyboardButton]:
    return [_button(t, N_("Save"), cb.RuleSave()), *_cancel_row(t)]


@on(roles=ADMIN)
def start_new(turn: Turn) -> None:
    pressed = turn.pressed(cb.NewRule)
    if pressed is None:
        turn.stale()
        return
    centre_id = pressed.centre or None
    require(turn.person, centre_id)
    _scope_name(turn, centre_id)  # refuses a centre that no longer exists
    conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, FLOW, "kind",
                        {"mode": "new", "scope": centre_id, "texts": {}, "ready": False,
                         "changed": []})
    _ask_kind(turn, centre_id)


@on(roles=ADMIN)
def start_edit(turn: Turn) -> None:
    pressed = turn.pressed(cb.EditRule)
    if pressed is None:
        turn.stale()
        return
    rule = reminder_rules.get(turn.db, pressed.rule)
    require(turn.person, rule.job_centre_id)
    step = {"o": "offset", "a": "audience", "t": "texts"}[pressed.part]
    state = conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, FLOW, step,
                                _draft_of(rule))
    _show_step(turn, state)


def _show_step(turn: Turn, state: ConversationState) -> None:
    if state.step == "offset":
        _ask_timing(turn)
    elif state.step == "audience":
        _ask_audience(turn, state.data)
    else:
        _show_texts(turn, state.data)


@on(roles=ADMIN)
def start_switch(turn: Turn) -> None:
    pressed = turn.pressed(cb.SwitchRule)
    if pressed is None:
        turn.stale()
        return
    rule = reminder_rules.get(turn.db, pressed.rule)
    require(turn.person, rule.job_centre_id)
    enable = not rule.enabled
    conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, FLOW, "confirm",
                        {"mode": "switch", "rule": rule.id, "scope": rule.job_centre_id,
                         "enable": enable})
    question = (turn._("Switch this rule on again? Its reminders are planned again.") if enable
                else turn._("Switch this rule off? Reminders planned from it are cancelled."))
    turn.edit_or_say(question, reply_markup=_markup([_save_row(turn.t)]))


DRAFT_STEPS = (cb.RuleEvent, cb.RuleAudience, cb.RuleTextLanguage, cb.RuleTextsDone,
               cb.RuleFixTiming, cb.RuleFixAudience, cb.RuleFixTexts)


@on(roles=ADMIN)
def step(turn: Turn) -> None:
    """A press inside a draft: event, audience, language, going back to a step, preview."""
    pressed = turn.pressed(*DRAFT_STEPS)
    state = turn.conversation(FLOW) if pressed is not None else None
    if state is None or state.data.get("mode") not in ("new", "edit"):
        turn.stale()
        return
    data = state.data
    _check_access(turn, data)
    ready = bool(data.get("ready"))
    match pressed:
        case cb.RuleEvent(kind) if state.step == "kind":
            conversations.advance(turn.db, turn.now, state, "offset", kind=kind.value)
            _ask_timing(turn)
        case cb.RuleAudience(audience) if state.step == "audience":
            draft = {**data, "audience": audience.value}
            reminder_rules.validate(_spec(draft))
            conversations.advance(turn.db, turn.now, state, "confirm" if ready else "texts",
                                  audience=audience.value,
                                  changed=_with_change(data, "audience"))
            (_confirm(turn, state) if ready else _show_texts(turn, state.data))
        case cb.RuleTextLanguage(language) if state.step in ("texts", "text"):
            conversations.advance(turn.db, turn.now, state, "text", lang=language)
            turn.edit_or_say(_text_prompt(turn, state.data),
                                   reply_markup=_text_markup(turn.t))
        case cb.RuleTextsDone() if state.step == "texts":
            _confirm(turn, state)
        case cb.RuleFixTiming() if ready:
            conversations.advance(turn.db, turn.now, state, "offset")
            _ask_timing(turn)
        case cb.RuleFixAudience() if ready and data.get("kind") != EventKind.CHECK_IN.value:
            conversations.advance(turn.db, turn.now, state, "audience")
            _ask_audience(turn, state.data)
        case cb.RuleFixTexts() if ready or state.step == "text":
            conversations.advance(turn.db, turn.now, state, "texts")
            _show_texts(turn, state.data)
        case _:
            turn.stale()


@where_hint(FLOW)
def where_in_rules(turn: Turn, state: ConversationState) -> None:
    turn.say(turn._("You are editing a reminder rule: please choose with the buttons above, "
                    "or send /admin to start again."))


@text_step_handler(FLOW, steps=("offset", "text"))
def receive_text(turn: Turn, state: ConversationState) -> None:
    if not turn.has_role(Role.ADMIN) or state.step not in ("offset", "text"):
        turn.say(turn._("Please use the buttons above, or send /admin to start again."))
        return
    data = state.data
    _check_access(turn, data)
    limit = 60 if state.step == "offset" else reminder_rules.MAX_TEXT
    if too_long(turn, turn.text, limit, cancel=cb.RuleCancel()):
        return
    if state.step == "offset":
        try:
            timing = parse_timing(turn.text)
            reminder_rules.validate(_spec({**data, **timing}))
        except DomainError as problem:
            _ask_timing(turn, turn._(problem.message, **problem.params))
            return
        ready = bool(data.get("ready"))
        conversations.advance(turn.db, turn.now, state, "confirm" if ready else "audience",
                              changed=_with_change(data, "timing"), **timing)
        (_confirm(turn, state) if ready else _ask_audience(turn, state.data))
        return
    texts = dict(data.get("texts") or {})
    if turn.text in ("-", "—"):
        texts.pop(data["lang"], None)
    else:
        texts[data["lang"]] = turn.text
    try:
        reminder_rules.validate(_spec({**data, "texts": texts}))
    except DomainError as problem:
        turn.say(turn._(problem.message, **problem.params) + "\n\n"
                       + _text_prompt(turn, data), reply_markup=_text_markup(turn.t))
        return
    conversations.advance(turn.db, turn.now, state, "texts", texts=texts,
                          changed=_with_change(data, "texts"))
    _show_texts(turn, state.data)


# --- saving -------------------------------------------------------------------------------------
@on(roles=ADMIN)
def save(turn: Turn) -> None:
    assert turn.person is not None
    pressed = turn.pressed(cb.RuleSave, cb.RuleCancel)
    state = turn.conversation(FLOW) if pressed is not None else None
    if state is None:
        turn.stale()
        return
    data = state.data
    if isinstance(pressed, cb.RuleCancel):
        conversations.finish(turn.db, state)
        back = (cb.RuleView(int(data["rule"])) if data.get("rule")
                else cb.RuleScope(data.get("scope") or 0))
        turn.edit_or_say(turn._("Cancelled. Nothing has changed."),
                               reply_markup=_markup([[_button(turn.t, N_("Back"), back)]]))
        return
    if state.step != "confirm":
        turn.stale()
        return
    _check_access(turn, data)
    if data["mode"] == "edit" and not _changes(data):
        conversations.finish(turn.db, state)
        turn.edit_or_say(turn._("Nothing has changed."), reply_markup=_markup(
            [[_button(turn.t, N_("Back"), cb.RuleView(int(data["rule"])))]]))
        return
    try:
        with turn.db.begin_nested():
            rule = _apply(turn, data)
    except DomainError as problem:
        # Refused on saving (e.g. the same rule was made meanwhile): the draft stays, so the
        # admin can change the timing or audience and try again.
        turn.edit_or_say(
            turn._(problem.message, **problem.params),
            reply_markup=_markup(_after_refusal_rows(turn.t, data)))
        return
    conversations.finish(turn.db, state)
    turn.edit_or_say(turn._("Saved."), reply_markup=_markup(
        [[_button(turn.t, N_("Back"), cb.RuleView(rule.id))]]))


def _apply(turn: Turn, data: dict[str, Any]) -> ReminderRule:
    assert turn.person is not None
    if data["mode"] == "switch":
        return reminder_rules.set_enabled(turn.db, turn.now, int(data["rule"]),
                                          bool(data["enable"]), actor=turn.person)
    if data["mode"] == "new":
        scope = data.get("scope")
        return reminder_rules.create(turn.db, turn.now, _spec(data),
                                     job_centre=centre(turn.db, scope) if scope else None,
                                     actor=turn.person)
    return reminder_rules.update(turn.db, turn.now, int(data["rule"]), actor=turn.person,
                                 **_changes(data))


def _after_refusal_rows(t: Translator, data: dict[str, Any]) -> list[list[InlineKeyboardButton]]:
    if data["mode"] == "switch":
        return [[_button(t, N_("Back"), cb.RuleView(int(data["rule"])))]]
    fix = [_button(t, N_("Timing"), cb.RuleFixTiming())]
    if data.get("kind") != EventKind.CHECK_IN.value:
        fix.append(_button(t, N_("Audience"), cb.RuleFixAudience()))
    return [fix, _cancel_row(t)]


admin.admin_section(N_("Reminder rules"), cb.RuleScopes())


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(start_new, pattern=cb.NewRule.matches))
    application.add_handler(CallbackQueryHandler(start_edit, pattern=cb.EditRule.matches))
    application.add_handler(CallbackQueryHandler(start_switch, pattern=cb.SwitchRule.matches))
    application.add_handler(CallbackQueryHandler(save, pattern=cb.any_of(cb.RuleSave,
                                                                        cb.RuleCancel)))
    application.add_handler(CallbackQueryHandler(step, pattern=cb.any_of(*DRAFT_STEPS)))
    application.add_handler(CallbackQueryHandler(navigate, pattern=cb.any_of(*NAVIGATION)))
