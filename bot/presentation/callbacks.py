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
from bot.models import Role

# Telegram refuses callback data over 64 bytes.
MAX_BYTES = 64
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
    """On a coach alert: excuse (e), present (p), contacted (c), note (n)."""

    item: int
    action: Literal["e", "p", "c", "n"]


@dataclass(frozen=True)
class AlertSeen(Callback, tag="ak"):
    alert: int


@dataclass(frozen=True)
class ExcuseExplained(Callback, tag="ax"):
    """On "X explained the absence": excuse it."""

    record: int


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


# --- admin sections --------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionLanguage(Callback, tag="sa:lg"):
    """The language a new information session is held in."""

    language: Language
