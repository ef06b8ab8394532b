"""The configuration file's form: pydantic models, read piece by piece.

Each piece (a setting, a rule, a job centre's header, one of its sessions...) is
validated on its own, so one bad value does not hide the problems elsewhere and every
good piece can still be checked against the database afterwards. Value checks use
the services' own parsers (times of day, offsets, rule texts, capacity), so the file
accepts and refuses what the chat and the command line do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Annotated, Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.config.yaml_text import ConfigUnreadable, Document, Path, format_path, read
from bot.errors import DomainError, JobbotError
from bot.i18n import LANGUAGES
from bot.models import Audience, EventKind, LocationRule
from bot.services.centres import centres, org_settings
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders import settings as reminder_settings
from bot.services.sessions import info_sessions
from bot.services.sessions.schedule import explain

VERSION = 1
# ISO weekday n is WEEKDAYS[n - 1]; the full English names are read too.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_DURATION_MINUTES = int(info_sessions.MAX_DURATION.total_seconds() // 60)
MAX_SCHEDULE_WEEKS = 52


# --- problems -----------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the file, and where."""

    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.path}: {self.message}"


class ConfigRejected(JobbotError):
    """The file has problems; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__(f"{len(self.problems)} problem(s), nothing changed:\n"
                         + "\n".join(str(p) for p in self.problems))


# --- value types --------------------------------------------------------------------------
def _domain(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A service's parser as a pydantic validator: its refusal becomes the message."""
    def validate(value: Any) -> Any:
        try:
            return check(value)
        except DomainError as error:
            raise ValueError(explain(error)) from None
    return validate


def _clock(value: Any) -> Any:
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError(f"Not a time of day: {value}. Write it like 20:00.")
    return reminder_settings.parse_clock(value)


def _whole(value: Any) -> Any:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("Give a whole number.")
    return value


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise ValueError(f"Unknown language: {value} (one of {', '.join(LANGUAGES)})")
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Unknown time zone: {value} (e.g. Europe/Stockholm)") from None
    return value


def _capacity(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("The capacity must be a whole number, e.g. 20.")
    return info_sessions.parse_capacity(str(value))


def _weekdays(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"Give a list of weekdays, e.g. [{', '.join(WEEKDAYS[:5])}].")
    days = set()
    for item in value:
        name = str(item).strip().lower()
        if name in _DAY_NAMES:
            name = name[:3]
        if name not in WEEKDAYS:
            raise ValueError(f"Not a weekday: {item}. Write {', '.join(WEEKDAYS)}.")
        days.add(WEEKDAYS.index(name) + 1)
    return tuple(sorted(days))


_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$")


def _local_datetime(value: Any) -> datetime:
    text = str(value).strip()
    if not _LOCAL.match(text):
        raise ValueError(f"Write the local start like 2026-03-10T10:00, not {value}.")
    try:
        return datetime.strptime(text.replace(" ", "T"), "%Y-%m-%dT%H:%M")
    except ValueError:
        raise ValueError(f"There is no such date or time: {text}") from None


def _no_texts(value: Any) -> Any:
    return {} if value is None else value  # "texts:" with nothing after it


Clock = Annotated[time, BeforeValidator(_domain(_clock))]
Whole = Annotated[int, BeforeValidator(_whole)]
Language = Annotated[str, AfterValidator(_language)]
Zone = Annotated[str, AfterValidator(_zone)]
Capacity = Annotated[int, BeforeValidator(_domain(_capacity))]
Weekdays = Annotated[tuple[int, ...], BeforeValidator(_weekdays)]
AbsenceReasonName = Literal["ill", "sick_child", "job_interview", "appointment", "other"]
LocalDateTime = Annotated[datetime, BeforeValidator(_local_datetime)]
Minutes = Annotated[Whole, Field(ge=1, le=MAX_DURATION_MINUTES)]
Texts = Annotated[dict[Language, str | None], BeforeValidator(_no_texts)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Located(_Model):
    """Something with optional coordinates of its own: both or neither, in range."""

    latitude: float | None = None
    longitude: float | None = None

    @model_validator(mode="after")
    def _coordinates(self) -> _Located:
        try:
            centres.check_coordinates(self.latitude, self.longitude)
        except DomainError as error:
            raise ValueError(explain(error)) from None
        return self


# --- the pieces -----------------------------------------------------------------------------
class RuleConfig(_Model):
    """A reminder rule; ``offset`` in the rules' short form (-1d, -2h, -30m, +1wd, 0)."""

    event: EventKind
    audience: Audience
    offset: str = "0"
    at: Clock | None = None
    texts: Texts = Field(default_factory=dict)
    enabled: bool | None = None
    _spec: reminder_rules.RuleSpec = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _offset_as_text(cls, data: Any) -> Any:
        # "offset: 0" is read as a number.
        offset = data.get("offset") if isinstance(data, dict) else None
        if isinstance(offset, int) and not isinstance(offset, bool):
            data = {**data, "offset": str(offset)}
        return data

    @field_validator("offset")
    @classmethod
    def _offset(cls, value: str) -> str:
        _domain(parse_offset)(value)
        return value

    @model_validator(mode="after")
    def _checked(self) -> RuleConfig:
        days, minutes, working, at = parse_offset(self.offset)
        if at is not None and self.at is not None:
            raise ValueError("Give the time of day once: in offset or in at.")
        spec = reminder_rules.RuleSpec(
            self.event, self.audience, days, minutes, working, at or self.at,
            {language: text or "" for language, text in self.texts.items()})
        self._spec = _domain(reminder_rules.validate)(spec)
        return self

    @property
    def spec(self) -> reminder_rules.RuleSpec:
        """The rule, validated and normalised by the rules service."""
        return self._spec

    @property
    def key(self) -> tuple[Any, ...]:
        return timing_key(self._spec)


def timing_key(rule: Any) -> tuple[Any, ...]:
    """What tells two rules of one scope apart (a rule or a spec): the rest can change."""
    return (rule.event_kind, rule.audience, rule.offset_days, rule.offset_minutes,
            rule.working_days, rule.at_local_time)


def parse_offset(text: str) -> tuple[int, int, bool, time | None]:
    """The rules' offset, as ``format_offset`` writes it: ``-2wd 09:00``, ``-1d -2h``, ``0``.

    Returns (days, minutes, working days, time of day or None).
    """
    days = minutes = 0
    working = False
    at: time | None = None
    seen: set[str] = set()
    for token in text.split() or ["?"]:
        if ":" in token:
            part, at = "time", reminder_settings.parse_clock(token)
        else:
            d, m, w = reminder_rules.parse_offset(token)
            part = "days" if d or w else "minutes"
            if part == "days":
                days, working = d, w
            else:
                minutes = m
        if part in seen:
            raise DomainError("Not an offset: {text}. Write for example -1d, -2h, -30m or "
                              "+1wd.", text=text)
        seen.add(part)
    return days, minutes, working, at


class ClosedDayConfig(_Model):
    date: date
    note: str | None = Field(None, max_length=200)


class ReminderSettingsConfig(_Model):
    quiet_start: Clock | None = None
    quiet_end: Clock | None = None
    quiet_weekends: bool | None = None
    deadline_days: Literal["working", "calendar"] | None = None


class PolicyConfig(_Model):
    """The attendance policy; every field of the service except the code's secret."""

    weekdays: Weekdays | None = None
    window_start: Clock | None = None
    window_end: Clock | None = None
    grace_minutes: Whole | None = None
    streak_limit: Whole | None = None
    window_limit: Whole | None = None
    window_days: Whole | None = None
    alert_resend_minutes: Whole | None = None
    # Ask first: the coach's alert waits this long for the aspirant's answer (0: at once).
    alert_delay_minutes: Whole | None = None
    # The absence reasons offered ("other" is always offered).
    absence_reasons: list[AbsenceReasonName] | None = None
    digest_time: Clock | None = None  # null: no daily digest
    location_rule: LocationRule | None = None
    radius_m: Whole | None = None
    code_step_seconds: Whole | None = None


class SessionConfig(_Located):
    """One information session; ``start`` is local time in the centre's zone."""

    start: LocalDateTime
    duration_minutes: Minutes | None = None
    place: str | None = Field(None, max_length=300)
    language: Language | None = None
    capacity: Capacity | None = None


class ScheduleConfig(_Located):
    """Sessions on these weekdays at this time, for the coming ``weeks`` after the import."""

    weekdays: Weekdays
    time: Clock
    weeks: Whole = Field(ge=1, le=MAX_SCHEDULE_WEEKS)
    duration_minutes: Minutes | None = None
    place: str | None = Field(None, max_length=300)
    language: Language | None = None
    capacity: Capacity | None = None

    @model_validator(mode="after")
    def _working_days(self) -> ScheduleConfig:
        if any(day > 5 for day in self.weekdays):
            raise ValueError("Information sessions are held on working days: "
                             "mon, tue, wed, thu or fri.")
        return self


class CentreHead(_Located):
    name: str = Field(min_length=1, max_length=120)
    address: str | None = Field(None, max_length=300)
    timezone: Zone | None = None
    disabled: bool | None = None


CENTRE_SECTIONS = ("closed_days", "reminder_settings", "attendance_policy", "reminder_rules",
                   "info_sessions", "schedule")
CENTRE_KEYS = ("name", "address", "latitude", "longitude", "timezone", "disabled",
               *CENTRE_SECTIONS)
TOP_KEYS = ("version", "settings", "reminder_rules", "centres")

T = TypeVar("T")


@dataclass
class Item(Generic[T]):
    """A valid piece of the file and where it is."""

    path: Path
    value: T


@dataclass
class ParsedCentre:
    path: Path
    head: CentreHead | None  # None: the header has problems; nothing of it is applied
    closed_days: list[Item[ClosedDayConfig]] = field(default_factory=list)
    reminder_settings: Item[ReminderSettingsConfig] | None = None
    attendance_policy: Item[PolicyConfig] | None = None
    reminder_rules: list[Item[RuleConfig]] = field(default_factory=list)
    info_sessions: list[Item[SessionConfig]] = field(default_factory=list)
    schedule: list[Item[ScheduleConfig]] = field(default_factory=list)


@dataclass
class ParsedConfig:
    document: Document
    settings: list[Item[tuple[str, Any]]]
    reminder_rules: list[Item[RuleConfig]]
    centres: list[ParsedCentre]
    problems: list[Problem]

    def problem(self, path: Path, message: str) -> Problem:
        return Problem(self.document.line_of(path), format_path(path), message)


def parse(text: str | bytes) -> ParsedConfig:
    """Read and check the file's form; raises ConfigUnreadable if it is not a configuration.

    The problems found are in ``problems``; the pieces without problems are returned.
    """
    document = read(text)
    if not isinstance(document.data, dict):
        raise ConfigUnreadable("not a jobbot configuration: expected a mapping with the keys "
                               + ", ".join(TOP_KEYS) + " (see 'jobbot config example')")
    return _Reader(document).read()


class _Reader:
    def __init__(self, document: Document) -> None:
        self.document = document
        self.parsed = ParsedConfig(document, [], [], [], [])

    def problem(self, path: Path, message: str) -> None:
        self.parsed.problems.append(self.parsed.problem(path, message))

    def read(self) -> ParsedConfig:
        data: dict[str, Any] = self.document.data
        for key in data:
            if key not in TOP_KEYS:
                self.problem((key,), f"unknown key; allowed here: {', '.join(TOP_KEYS)}")
        if data.get("version", VERSION) != VERSION:
            self.problem(("version",), f"this jobbot reads configuration version {VERSION}")
        self._settings(data.get("settings"))
        self.parsed.reminder_rules = self._rules(data.get("reminder_rules"), ("reminder_rules",))
        names: dict[str, Path] = {}
        for item in self._raw_list(data.get("centres"), ("centres",)):
            centre = self._centre(item.value, item.path)
            if centre is None:
                continue
            if centre.head is not None:
                name = centre.head.name
                if name in names:
                    self.problem((*centre.path, "name"), f"the job centre {name!r} is in the "
                                 f"file already, at {format_path(names[name])}")
                    centre.head = None
                else:
                    names[name] = centre.path
            self.parsed.centres.append(centre)
        return self.parsed

    # -- generic --------------------------------------------------------------------------
    def _model(self, model: type[T], raw: Any, path: Path, *,
               allowed: tuple[str, ...] = ()) -> T | None:
        try:
            return model.model_validate(raw)  # type: ignore[attr-defined,no-any-return]
        except ValidationError as error:
            keys = allowed or tuple(model.model_fields)  # type: ignore[attr-defined]
            for detail in error.errors(include_url=False):
                loc = tuple(part for part in detail["loc"]
                            if isinstance(part, int) or not re.search(r"[\[(]", part))
                self.problem(path + loc, _message(detail, keys))
            return None

    def _raw_list(self, raw: Any, path: Path) -> list[Item[Any]]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem(path, "expected a list (items starting with '- ')")
            return []
        return [Item((*path, index), value) for index, value in enumerate(raw)]

    def _list(self, model: type[T], raw: Any, path: Path) -> list[Item[T]]:
        items = []
        for item in self._raw_list(raw, path):
            value = self._model(model, item.value, item.path)
            if value is not None:
                items.append(Item(item.path, value))
        return items

    def _unique(self, items: list[Item[T]], key: Callable[[T], Any], what: str) -> list[Item[T]]:
        """Drop (and report) a second piece with the same natural key as an earlier one."""
        first: dict[Any, Path] = {}
        kept = []
        for item in items:
            value = key(item.value)
            if value in first:
                self.problem(item.path, f"{what} is in the file already, at "
                                        f"{format_path(first[value])}")
                continue
            first[value] = item.path
            kept.append(item)
        return kept

    # -- sections -------------------------------------------------------------------------
    def _settings(self, raw: Any) -> None:
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.problem(("settings",), "expected a mapping of setting: value")
            return
        for key, value in raw.items():
            path: Path = ("settings", key)
            if key not in org_settings.DEFINITIONS:
                self.problem(path, "unknown setting; known: "
                             + ", ".join(org_settings.DEFINITIONS))
                continue
            try:
                clean = org_settings.DEFINITIONS[key][1](value)
            except DomainError as error:
                self.problem(path, explain(error))
                continue
            self.parsed.settings.append(Item(path, (key, clean)))

    def _rules(self, raw: Any, path: Path) -> list[Item[RuleConfig]]:
        return self._unique(self._list(RuleConfig, raw, path), lambda rule: rule.key,
                            "the same rule (event, audience, offset, time)")

    def _centre(self, raw: Any, path: Path) -> ParsedCentre | None:
        if not isinstance(raw, dict):
            self.problem(path, "expected a job centre: a mapping with name, address, ...")
            return None
        head_fields = {k: v for k, v in raw.items() if k not in CENTRE_SECTIONS}
        head = self._model(CentreHead, head_fields, path, allowed=CENTRE_KEYS)
        centre = ParsedCentre(path, head)
        centre.closed_days = self._unique(
            self._list(ClosedDayConfig, raw.get("closed_days"), (*path, "closed_days")),
            lambda day: day.date, "this closed day")
        for name, model in (("reminder_settings", ReminderSettingsConfig),
                            ("attendance_policy", PolicyConfig)):
            if raw.get(name) is not None:
                value = self._model(model, raw[name], (*path, name))
                if value is not None:
                    setattr(centre, name, Item((*path, name), value))
        centre.reminder_rules = self._rules(raw.get("reminder_rules"),
                                            (*path, "reminder_rules"))
        centre.info_sessions = self._unique(
            self._list(SessionConfig, raw.get("info_sessions"), (*path, "info_sessions")),
            lambda session: session.start, "a session at this time")
        centre.schedule = self._list(ScheduleConfig, raw.get("schedule"), (*path, "schedule"))
        return centre


def _message(detail: Any, allowed: tuple[str, ...]) -> str:
    kind, message = detail["type"], detail["msg"]
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        return f"unknown key; allowed here: {', '.join(allowed)}"
    return message.removeprefix("Value error, ")
