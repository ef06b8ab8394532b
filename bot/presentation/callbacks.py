"""Callback data: every button's data is built and parsed here, typed.

A button carries ``<tag>:<field>:<field>…`` in ASCII, at most 64 bytes (Telegram's
limit, checked when the button is built). Each kind of button is a frozen dataclass
whose fields say what the data holds:

* ``int``: an id or a small number, ASCII digits in canonical form, 0 … 2³¹−1 (the
  database's integer range);
* ``date``: ``YYYYMMDD``, a real date;
* ``bool``: ``1`` or ``0``;
* a ``Literal`` of strings or a ``StrEnum``: one of its values;
* ``Token``: a short lowercase word (``[a-z0-9_]{1,16}``) the handler looks up in its
  own table.

Parsing is strict and total: whatever a client sends — a forged button, an old format,
a 20-digit id, ``²``, a date like 20260231 — decodes to ``None``, which handlers answer
as a stale button without touching the database. The wire format of buttons already
sent is kept, so buttons in people's chats stay valid across releases.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from bot.i18n import LANGUAGES
from bot.models import Audience, EventKind, Role
from bot.transport import limits

# Telegram refuses callback data over 64 bytes.
MAX_BYTES = limits.CALLBACK_DATA_BYTES
# PostgreSQL's INTEGER, the type of every id.
MAX_ID = 2**31 - 1

_INVALID = object()
_DIGITS = re.compile(r"0|[1-9][0-9]{0,9}")
_DATE = re.compile(r"[0-9]{8}")
_TOKEN = re.compile(r"[a-z0-9_]{1,16}")


class _TokenMarker:
    pass


Token = Annotated[str, _TokenMarker]
Language = Literal["sv", "en", "ar", "so", "fa", "ti"]
assert set(typing.get_args(Language)) == set(LANGUAGES), "Language must list LANGUAGES"


@dataclass(frozen=True)
class _Codec:
    encode: Callable[[Any], str]
    decode: Callable[[str], Any]


def _decode_int(raw: str) -> Any:
    if not _DIGITS.fullmatch(raw):
        return _INVALID
    value = int(raw)
    return value if value <= MAX_ID else _INVALID


def _encode_int(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
        raise ValueError(f"not an id: {value!r}")
    return str(value)


def _decode_date(raw: str) -> Any:
    if not _DATE.fullmatch(raw):
        return _INVALID
    try:
        return datetime.strptime(raw, "%Y%m%d").date()
    except ValueError:
        return _INVALID


def _decode_token(raw: str) -> Any:
    return raw if _TOKEN.fullmatch(raw) else _INVALID


def _encode_token(value: Any) -> str:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise ValueError(f"not a token: {value!r}")
    return value


def _choices(values: tuple[str, ...], make: Callable[[str], Any] = str) -> _Codec:
    allowed = frozenset(values)

    def encode(value: Any) -> str:
        text = value.value if isinstance(value, enum.Enum) else value
        if text not in allowed:
            raise ValueError(f"not one of {sorted(allowed)}: {value!r}")
        return str(text)

    return _Codec(encode, lambda raw: make(raw) if raw in allowed else _INVALID)


_INT = _Codec(_encode_int, _decode_int)
_DATE_CODEC = _Codec(lambda value: f"{value:%Y%m%d}", _decode_date)
_BOOL = _Codec(lambda value: "1" if value else "0",
               lambda raw: {"1": True, "0": False}.get(raw, _INVALID))
_TOKEN_CODEC = _Codec(_encode_token, _decode_token)


def _codec_for(hint: Any) -> _Codec:
    if typing.get_origin(hint) is Annotated:
        base, *extras = typing.get_args(hint)
        if _TokenMarker in extras:
            return _TOKEN_CODEC
        return _codec_for(base)
    if hint is bool:
        return _BOOL
    if hint is int:
        return _INT
    if hint is date:
        return _DATE_CODEC
    if typing.get_origin(hint) is Literal:
        return _choices(tuple(str(value) for value in typing.get_args(hint)))
    if isinstance(hint, type) and issubclass(hint, enum.StrEnum):
        return _choices(tuple(member.value for member in hint), hint)
    if isinstance(hint, types.UnionType):
        raise TypeError("optional fields are not supported: use a separate button kind")
    raise TypeError(f"no callback codec for {hint!r}")


_BY_TAG: dict[str, type[Callback]] = {}


class Callback:
    """Base of every kind of button data; subclasses are frozen dataclasses with a tag."""

    tag: ClassVar[str]
    _codecs: ClassVar[tuple[tuple[str, _Codec], ...] | None] = None

    def __init_subclass__(cls, *, tag: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not re.fullmatch(r"[a-z]{1,4}(:[a-zA-Z]{1,4})?", tag):
            raise ValueError(f"bad callback tag {tag!r}")
        if tag in _BY_TAG:
            raise ValueError(f"callback tag {tag!r} is used twice")
        cls.tag = tag
        cls._codecs = None
        _BY_TAG[tag] = cls

    @classmethod
    def _fields(cls) -> tuple[tuple[str, _Codec], ...]:
        if cls._codecs is None:
            hints = typing.get_type_hints(cls, include_extras=True)
            cls._codecs = tuple((f.name, _codec_for(hints[f.name])) for f in fields(cls))  # type: ignore[arg-type]
        return cls._codecs

    def encode(self) -> str:
        parts = [self.tag] + [codec.encode(getattr(self, name)) for name, codec in self._fields()]
        data = ":".join(parts)
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        return data

    def __str__(self) -> str:
        return self.encode()

    @classmethod
    def decode(cls, data: object) -> Self | None:
        """This kind's data, or None for anything else."""
        if not isinstance(data, str) or len(data) > MAX_BYTES or not data.isascii():
            return None
        if data == cls.tag:
            raw: list[str] = []
        elif data.startswith(cls.tag + ":"):
            raw = data[len(cls.tag) + 1:].split(":")
        else:
            return None
        codecs = cls._fields()
        if len(raw) != len(codecs):
            return None
        values = []
        for text, (_, codec) in zip(raw, codecs, strict=True):
            value = codec.decode(text)
            if value is _INVALID:
                return None
            values.append(value)
        return cls(*values)

    @classmethod
    def matches(cls, data: object) -> bool:
        """For python-telegram-bot's ``CallbackQueryHandler(pattern=...)``."""
        return cls.decode(data) is not None


def parse(data: object, *kinds: type[Callback]) -> Callback | None:
    """The data as one of ``kinds`` (any registered kind if none given), or None."""
    for kind in kinds or tuple(_BY_TAG.values()):
        decoded = kind.decode(data)
        if decoded is not None:
            return decoded
    return None


def any_of(*kinds: type[Callback]) -> Callable[[object], bool]:
    """A ``CallbackQueryHandler`` pattern accepting the data of any of ``kinds``."""
    return lambda data: parse(data, *kinds) is not None


def registered() -> dict[str, type[Callback]]:
    return dict(_BY_TAG)


# --- any conversation -------------------------------------------------------------------------
@dataclass(frozen=True)
class StepCancel(Callback, tag="st:x"):
    """Cancel under a refused typed value: ends whatever step the chat is at."""


# --- the aspirant's buttons ------------------------------------------------------------------
@dataclass(frozen=True)
class ChooseLanguage(Callback, tag="lg"):
    """/language: the person's language."""

    language: Language


@dataclass(frozen=True)
class ConfirmStop(Callback, tag="stop"):
    """/stop: yes (erase) or no."""

    answer: Literal["y", "n"]


@dataclass(frozen=True)
class OnboardingLanguage(Callback, tag="ob:l"):
    language: Language


@dataclass(frozen=True)
class OnboardingConsent(Callback, tag="ob:c"):
    answer: Literal["y", "n"]


@dataclass(frozen=True)
class OnboardingSession(Callback, tag="ob:s"):
    """Book this information session during onboarding."""

    session: int


@dataclass(frozen=True)
class OnboardingOtherTime(Callback, tag="ob:so"):
    """Onboarding: none of the offered times suits; show others."""


@dataclass(frozen=True)
class SessionAnswer(Callback, tag="rm"):
    """On a session reminder: coming (y), not coming (n), calendar file (c), map (m)."""

    answer: Literal["y", "n", "c", "m"]
    booking: int


@dataclass(frozen=True)
class BookSession(Callback, tag="rb"):
    """Book (or move a booking to) this session."""

    session: int


@dataclass(frozen=True)
class OtherSessionTimes(Callback, tag="rb:list"):
    """Show the sessions one can book."""


@dataclass(frozen=True)
class AbsenceReason(Callback, tag="ab:r"):
    reason: Token


@dataclass(frozen=True)
class AbsenceWhen(Callback, tag="ab:w"):
    """Today (t), another day (d), several days (r)."""

    when: Literal["t", "d", "r"]


@dataclass(frozen=True)
class AbsenceDay(Callback, tag="ab:d"):
    day: date


@dataclass(frozen=True)
class AbsenceCancel(Callback, tag="ab:x"):
    pass


@dataclass(frozen=True)
class WhyAbsent(Callback, tag="aw"):
    """The answer to "why were you absent?" on that attendance record."""

    record: int
    reason: Token


# --- the coach's buttons ---------------------------------------------------------------------
@dataclass(frozen=True)
class CaseloadPage(Callback, tag="cl:p"):
    page: int


@dataclass(frozen=True)
class CaseloadDetail(Callback, tag="cl:d"):
    enrolment: int


@dataclass(frozen=True)
class MarkAttendance(Callback, tag="cl:m"):
    """Record attendance by hand: present (p), excused (e), unexcused (u)."""

    enrolment: int
    day: date
    status: Literal["p", "e", "u"]


@dataclass(frozen=True)
class ChooseAttendanceDay(Callback, tag="cl:k"):
    enrolment: int


@dataclass(frozen=True)
class ChooseAttendanceStatus(Callback, tag="cl:q"):
    enrolment: int
    day: date


@dataclass(frozen=True)
class WriteNote(Callback, tag="cl:n"):
    enrolment: int


@dataclass(frozen=True)
class ChooseStatementPeriod(Callback, tag="cl:S"):
    enrolment: int


@dataclass(frozen=True)
class SendStatement(Callback, tag="cl:s"):
    """The attendance statement: last 30 days, this month (m), last month (pm)."""

    enrolment: int
    period: Literal["30", "m", "pm"]


@dataclass(frozen=True)
class SetRequirement(Callback, tag="cl:r"):
    """Switch the daily check-in requirement on or off."""

    enrolment: int
    required: bool


@dataclass(frozen=True)
class AlertAction(Callback, tag="al"):
    """On a coach alert: the absence is valid (v) or not valid (x), the aspirant was
    present (p), contacted (c), a note (n); "e" (excuse) is the valid of earlier releases."""

    item: int
    action: Literal["v", "x", "p", "c", "n", "e"]


@dataclass(frozen=True)
class AlertSeen(Callback, tag="ak"):
    alert: int


@dataclass(frozen=True)
class ExcuseExplained(Callback, tag="ax"):
    """On "X explained the absence" of earlier releases: judge it valid."""

    record: int


@dataclass(frozen=True)
class JudgeRecord(Callback, tag="jr"):
    """The coach judges a recorded absence valid (v) or not valid (x)."""

    record: int
    verdict: Literal["v", "x"]


@dataclass(frozen=True)
class JudgeReport(Callback, tag="jp"):
    """The coach judges a reported absence (all its days) valid (v) or not valid (x)."""

    report: int
    verdict: Literal["v", "x"]


@dataclass(frozen=True)
class ChooseSocialWorker(Callback, tag="cl:w"):
    """Which social worker gets this aspirant's statements?"""

    enrolment: int


@dataclass(frozen=True)
class LinkSocialWorker(Callback, tag="cl:wl"):
    """Link this social worker (0: unlink) to the aspirant."""

    enrolment: int
    worker: int


@dataclass(frozen=True)
class PlanPage(Callback, tag="pl:l"):
    page: int


@dataclass(frozen=True)
class AspirantPlan(Callback, tag="pl:a"):
    enrolment: int


@dataclass(frozen=True)
class MarkMilestoneDone(Callback, tag="pl:d"):
    milestone: int


@dataclass(frozen=True)
class StartPlan(Callback, tag="pl:s"):
    """Start the plan (record the intake) of this enrolment."""

    enrolment: int


@dataclass(frozen=True)
class RecordMeasure(Callback, tag="pl:m"):
    """A job, studies or another measure started: the five-day guarantee is met."""

    milestone: int


@dataclass(frozen=True)
class ConfirmPlan(Callback, tag="pc"):
    """The aspirant's answer on a plan the coach marked finished: agree (y), questions (q)."""

    milestone: int
    answer: Literal["y", "q"]


@dataclass(frozen=True)
class FollowUpView(Callback, tag="fu:v"):
    """A follow-up six months after leaving, with its outcome buttons."""

    follow_up: int


@dataclass(frozen=True)
class FollowUpAnswer(Callback, tag="fu"):
    """Self-supporting (s), not self-supporting (n), could not be found out (u)."""

    follow_up: int
    outcome: Literal["s", "n", "u"]


# --- the social worker's buttons ------------------------------------------------------------
@dataclass(frozen=True)
class LinkedAspirants(Callback, tag="sw:l"):
    """The social worker's list of linked aspirants."""


@dataclass(frozen=True)
class LinkedAspirant(Callback, tag="sw:a"):
    """One linked aspirant: plan status and the statement periods."""

    enrolment: int


@dataclass(frozen=True)
class LinkedStatement(Callback, tag="sw:s"):
    """A linked aspirant's statement: last week (pw), last 30 days, this month, last month."""

    enrolment: int
    period: Literal["pw", "30", "m", "pm"]


@dataclass(frozen=True)
class DemographicsView(Callback, tag="dm:v"):
    enrolment: int


@dataclass(frozen=True)
class RecordGender(Callback, tag="dm:g"):
    """Woman (w), man (m), other (o), not recorded (n)."""

    enrolment: int
    gender: Literal["w", "m", "o", "n"]


@dataclass(frozen=True)
class AskBirthYear(Callback, tag="dm:y"):
    enrolment: int


@dataclass(frozen=True)
class ExitView(Callback, tag="ex:v"):
    enrolment: int


@dataclass(frozen=True)
class ExitReason(Callback, tag="ex:r"):
    """Work (w), studies (s), sent back (r), other (o)."""

    enrolment: int
    reason: Literal["w", "s", "r", "o"]


@dataclass(frozen=True)
class ExitConfirm(Callback, tag="ex:c"):
    enrolment: int
    reason: Literal["w", "s", "r", "o"]


# --- invites -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class InviteRole(Callback, tag="iv:r"):
    role: Role


@dataclass(frozen=True)
class InviteCentre(Callback, tag="iv:c"):
    centre: int


@dataclass(frozen=True)
class InviteSession(Callback, tag="iv:s"):
    """The information session to invite to (0: none)."""

    session: int


@dataclass(frozen=True)
class InviteAttendance(Callback, tag="iv:a"):
    required: bool


@dataclass(frozen=True)
class InviteRelease(Callback, tag="iv:rl"):
    """A held invite freed by its maker, so the next account to open it can use it."""

    invite: int


@dataclass(frozen=True)
class StaffInviteAnswer(Callback, tag="iv:ok"):
    """A registered member of staff adds (y) the invite's role to their account, or not."""

    invite: int
    answer: Literal["y", "n"]


# --- admin sections --------------------------------------------------------------------------
# /admin (handlers/admin.py): job centres, staff, closed days, settings.
@dataclass(frozen=True)
class AdminMenu(Callback, tag="ad"):
    """The /admin main menu."""


@dataclass(frozen=True)
class AdminCentres(Callback, tag="ad:cl"):
    """The list of job centres."""


@dataclass(frozen=True)
class AdminSettings(Callback, tag="ad:set"):
    """Settings that apply to every job centre (retention, gender and age band)."""


@dataclass(frozen=True)
class AdminCentre(Callback, tag="ad:c"):
    centre: int


@dataclass(frozen=True)
class AdminClosedDays(Callback, tag="ad:cd"):
    centre: int


@dataclass(frozen=True)
class AdminStaff(Callback, tag="ad:st"):
    centre: int


@dataclass(frozen=True)
class AdminEdit(Callback, tag="ad:e"):
    """Change a value by sending it: ``field`` is a key of /admin's table of fields (an
    unknown key is a stale button); ``target`` the job centre, 0 for none."""

    field: Token
    target: int


@dataclass(frozen=True)
class AdminToggle(Callback, tag="ad:t"):
    """A change made without typing, confirmed first: disable or enable a job centre
    (cdis, target: the centre), remove a closed day (cdrm, target: the day), remove a
    staff role (rv, target: the role grant), gender and age band on or off (gender, 0)."""

    action: Literal["cdis", "cdrm", "rv", "gender"]
    target: int


@dataclass(frozen=True)
class AdminSave(Callback, tag="ad:ok"):
    pass


@dataclass(frozen=True)
class AdminCancel(Callback, tag="ad:no"):
    pass


# /admin → attendance policies, quiet hours and deadlines (handlers/admin_policies.py).
@dataclass(frozen=True)
class PolicyCentres(Callback, tag="ap:l"):
    """Choose the job centre whose attendance policy to see."""


@dataclass(frozen=True)
class QuietCentres(Callback, tag="ap:ql"):
    """Choose the job centre whose quiet hours and deadline counting to see."""


@dataclass(frozen=True)
class PolicyView(Callback, tag="ap:c"):
    centre: int


@dataclass(frozen=True)
class QuietView(Callback, tag="ap:q"):
    centre: int


@dataclass(frozen=True)
class PolicyChoice(Callback, tag="ap:s"):
    """A value picked with a button: ``field`` and ``choice`` are looked up in the
    policies' table of choices (unknown: a stale button)."""

    field: Token
    centre: int
    choice: Token


# /admin → reminder rules (handlers/admin_rules.py). A centre of 0 means the general rules.
@dataclass(frozen=True)
class RuleScopes(Callback, tag="ar:l"):
    """General rules, or the rules of which job centre?"""


@dataclass(frozen=True)
class RuleScope(Callback, tag="ar:s"):
    """The rules of a job centre (0: the general rules)."""

    centre: int


@dataclass(frozen=True)
class RuleView(Callback, tag="ar:r"):
    rule: int


@dataclass(frozen=True)
class RulePreview(Callback, tag="ar:p"):
    """The rule's message in every language."""

    rule: int


@dataclass(frozen=True)
class NewRule(Callback, tag="ar:n"):
    """Start a new rule for a job centre (0: a general rule)."""

    centre: int


@dataclass(frozen=True)
class EditRule(Callback, tag="ar:e"):
    """Change a rule's timing (o), audience (a) or texts (t)."""

    part: Literal["o", "a", "t"]
    rule: int


@dataclass(frozen=True)
class SwitchRule(Callback, tag="ar:x"):
    """Switch a rule off, or on again."""

    rule: int


@dataclass(frozen=True)
class RuleSave(Callback, tag="ar:ok"):
    pass


@dataclass(frozen=True)
class RuleCancel(Callback, tag="ar:no"):
    pass


@dataclass(frozen=True)
class RuleEvent(Callback, tag="ar:k"):
    """A new rule's event."""

    kind: EventKind


@dataclass(frozen=True)
class RuleAudience(Callback, tag="ar:a"):
    audience: Audience


@dataclass(frozen=True)
class RuleTextLanguage(Callback, tag="ar:g"):
    """Write or change the rule's text in this language."""

    language: Language


@dataclass(frozen=True)
class RuleTextsDone(Callback, tag="ar:d"):
    """The texts are done: preview the rule and offer Save."""


@dataclass(frozen=True)
class RuleFixTiming(Callback, tag="ar:fo"):
    """From the preview, back to the timing."""


@dataclass(frozen=True)
class RuleFixAudience(Callback, tag="ar:fa"):
    """From the preview, back to the audience."""


@dataclass(frozen=True)
class RuleFixTexts(Callback, tag="ar:ft"):
    """From the preview (or a text prompt), back to the texts."""


# /sessions: information sessions (handlers/sessions_admin.py).
@dataclass(frozen=True)
class SessionList(Callback, tag="sa:l"):
    pass


@dataclass(frozen=True)
class SessionView(Callback, tag="sa:v"):
    session: int


@dataclass(frozen=True)
class NewSession(Callback, tag="sa:new"):
    pass


@dataclass(frozen=True)
class NewSessionAt(Callback, tag="sa:nc"):
    """A new session at this job centre."""

    centre: int


@dataclass(frozen=True)
class PlaceIsAddress(Callback, tag="sa:pa"):
    """The new session is held at the job centre's address."""


@dataclass(frozen=True)
class SessionPlaces(Callback, tag="sa:cp"):
    """The number of places of a new session, chosen with a button."""

    places: int


@dataclass(frozen=True)
class SessionLanguage(Callback, tag="sa:lg"):
    """The language a new information session is held in."""

    language: Language


@dataclass(frozen=True)
class ChangeSessionTime(Callback, tag="sa:t"):
    session: int


@dataclass(frozen=True)
class ChangeSessionPlace(Callback, tag="sa:p"):
    session: int


@dataclass(frozen=True)
class ChangeSessionPlaces(Callback, tag="sa:c"):
    """Change the number of places."""

    session: int


@dataclass(frozen=True)
class CancelSession(Callback, tag="sa:x"):
    session: int


@dataclass(frozen=True)
class SessionConfirm(Callback, tag="sa:ok"):
    """Yes: create, change or cancel the session as shown."""


@dataclass(frozen=True)
class SessionAbort(Callback, tag="sa:no"):
    pass


@dataclass(frozen=True)
class SessionAttendance(Callback, tag="sa:a"):
    """Record who came to this session."""

    session: int


@dataclass(frozen=True)
class BookingCame(Callback, tag="sa:y"):
    booking: int


@dataclass(frozen=True)
class BookingNoShow(Callback, tag="sa:n"):
    booking: int
