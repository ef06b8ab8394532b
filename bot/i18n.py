"""Translations (gettext catalogs read through Babel) and locale-aware formatting.

Message ids are English source strings with ``{name}`` placeholders. A
``Translator`` renders them in one language and formats dates and times in that
language and the job centre's zone. Placeholder values are wrapped in Unicode
isolation marks where directions mix, so an address or a time inside Arabic or
Persian text keeps its own reading order.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

# Each language named in itself, in the order the picker shows them.
LANGUAGES: dict[str, str] = {
    "sv": "Svenska",
    "en": "English",
    "ar": "العربية",
    "so": "Soomaali",
    "fa": "فارسی",
    "ti": "ትግርኛ",
}
RIGHT_TO_LEFT = frozenset({"ar", "fa"})
# Telegram reports IETF tags; some speakers of a supported language report a neighbour.
_LANGUAGE_ALIASES = {"prs": "fa", "fa-af": "fa", "nb": None, "ti-er": "ti", "ti-et": "ti"}

FSI, PDI = "\u2068", "\u2069"  # first-strong isolate ... pop directional isolate
LRI = "\u2066"  # left-to-right isolate
RLM = "\u200f"  # right-to-left mark
# The Babel locale each language's dates and times are written in, chosen for readers in
# Sweden: day before month, and everywhere the job centre's 24-hour clock (see ``time``).
LOCALES: dict[str, str] = {
    "sv": "sv_SE",
    "en": "en_GB",  # not en_US: "Thursday, 27 November 2025", not "November 27"
    "ar": "ar",  # Modern Standard Arabic month names (نوفمبر), understood across dialects
    "so": "so_SO",
    "fa": "fa_IR",
    "ti": "ti_ER",  # most Tigrinya speakers in Sweden came from Eritrea
}
# A command inside right-to-left text: "/stop" would be laid out as "stop/". It is
# isolated left to right, with a space inside the isolate before it, since some of
# Telegram's clients recognise a command only right after a space.
_COMMAND = re.compile(r"( ?)(?<![\w/])(/[A-Za-z][A-Za-z0-9_]*)(?![\w/])")
# Other left-to-right tokens (a time, a date format, "-2wd 09:00", "59.40, 17.94",
# "Europe/Stockholm"): neutral signs and digits at their edges would be reordered too.
_LTR_TOKEN = r"[-+]?[A-Za-z0-9][A-Za-z0-9_./:@+\-]*"
_LTR_RUN = re.compile(rf"{_LTR_TOKEN}(?:(?:, *| +){_LTR_TOKEN})*")
_TRAILING = re.compile(r"[.:,]+$")
_RTL_CHARS = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
PLACEHOLDER = re.compile(r"(?<!\{)\{([a-zA-Z_][a-zA-Z0-9_]*)\}(?!\})")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, in the reader's language."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular and plural pair for extraction (rendered with ``ngettext``)."""
    return singular, plural


class Text(str):
    """Text already rendered in the reader's language (e.g. a summary put inside another
    message): inserted as it is, since it carries its own direction marks."""

    __slots__ = ()


class Term(str):
    """A word passed into a message that is itself translated when the message is rendered
    (a role, a status, a reason): ``t._("You are {role}", role=Term(N_("coach")))``."""

    __slots__ = ()


def supported_language(code: str | None) -> str | None:
    """The supported language for a Telegram ``language_code``, or None."""
    if not code:
        return None
    code = code.lower().replace("_", "-")
    if code in _LANGUAGE_ALIASES:
        return _LANGUAGE_ALIASES[code]
    base = code.split("-")[0]
    if base in _LANGUAGE_ALIASES:
        return _LANGUAGE_ALIASES[base]
    return base if base in LANGUAGES else None


def _catalog_dir() -> Any:
    return resources.files("locales")


@cache
def _translations(language: str) -> gettext.NullTranslations:
    po_path = _catalog_dir() / language / "LC_MESSAGES" / "messages.po"
    if not po_path.is_file():
        return gettext.NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def reload_catalogs() -> None:
    _translations.cache_clear()


class Translator:
    """Renders messages in one language, for readers in one time zone."""

    def __init__(self, language: str, zone: ZoneInfo | str = "Europe/Stockholm") -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}")
        self.language = language
        self.zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self.locale = Locale.parse(LOCALES[language])
        self.rtl = language in RIGHT_TO_LEFT
        self._gnu = _translations(language)

    def in_zone(self, zone: str) -> Translator:
        """The same language for readers of another job centre's clock."""
        return self if zone == self.zone.key else translator(self.language, zone)

    # --- messages -------------------------------------------------------------------
    def _(self, message: str, /, **params: Any) -> str:
        return self._fill(self._gnu.gettext(message), params)

    gettext = _

    def ngettext(self, singular: str, plural: str, n: int, /, **params: Any) -> str:
        params.setdefault("count", n)
        return self._fill(self._gnu.ngettext(singular, plural, n), params)

    def _fill(self, text: str, params: Mapping[str, Any]) -> str:
        if self.rtl:
            text = isolate_ltr(text)
        if params:
            rendered = {key: value if isinstance(value, Text)
                        else self._isolate(self.value(value))
                        for key, value in params.items()}
            text = PLACEHOLDER.sub(lambda m: rendered.get(m.group(1), m.group(0)), text)
        if self.rtl:
            text = anchor_rtl_lines(text)
        return text

    def command(self, name: str) -> str:
        """``/name`` as it should stand in this language's text (isolated in RTL)."""
        return isolate_ltr(f"/{name}") if self.rtl else f"/{name}"

    def value(self, value: Any) -> str:
        """A parameter as text: numbers and times in this language's conventions."""
        if isinstance(value, datetime):
            return self.datetime(value)
        if isinstance(value, date):
            return self.date(value)
        if isinstance(value, time):
            return self.time(value)
        if isinstance(value, Term):
            return self._gnu.gettext(value)
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int | float):
            return self.number(value)
        if isinstance(value, Mapping):
            return self.value(decode_param(value))
        return str(value)

    def _isolate(self, text: str) -> str:
        # Isolate anything that may run against the surrounding direction.
        if self.rtl or _RTL_CHARS.search(text):
            return f"{FSI}{text}{PDI}"
        return text

    # --- formatting -----------------------------------------------------------------
    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def date(self, day: date | datetime, format: str = "full") -> str:
        if isinstance(day, datetime):
            day = self.local(day).date()
        return babel_dates.format_date(day, format=format, locale=self.locale)

    def short_date(self, day: date | datetime) -> str:
        if isinstance(day, datetime):
            day = self.local(day).date()
        return self._skeleton("MMMEd", day)

    def day_month(self, day: date) -> str:
        """A day without weekday or year, e.g. "27 Nov" (a chart's week)."""
        return self._skeleton("MMMd", day)

    def time(self, moment: datetime | time) -> str:
        """Hours and minutes on the 24-hour clock (as the job centre's timetable), in this
        language's digits and separator: 14:05, not 2:05 PM."""
        if isinstance(moment, datetime):
            moment = self.local(moment).timetz().replace(tzinfo=None)
        return self._skeleton("Hm", moment)

    def _skeleton(self, skeleton: str, moment: date | time) -> str:
        # babel.dates.format_skeleton, with the locale's pattern for the skeleton looked up
        # once: the lookup costs more than the formatting, and every check-in's answer
        # shows a time.
        return _skeleton_pattern(self.language, skeleton).apply(moment, self.locale)

    def datetime(self, moment: datetime) -> str:
        return f"{self.date(moment)} {self.time(moment)}"

    def weekday(self, day: date) -> str:
        return babel_dates.format_date(day, format="EEEE", locale=self.locale)

    def number(self, value: float) -> str:
        from babel.numbers import format_decimal

        return format_decimal(value, locale=self.locale)


def isolate_ltr(text: str) -> str:
    """Commands and other left-to-right tokens in the literal parts of a right-to-left
    text, each isolated so it keeps its own reading order; ``{placeholders}`` are left
    alone (their values are isolated when filled in)."""
    parts = PLACEHOLDER.split(text)
    # split() with one group: literal, name, literal, name, ...
    for index in range(0, len(parts), 2):
        parts[index] = _isolate_literal(parts[index])
    return "".join(part if index % 2 == 0 else "{" + part + "}"
                   for index, part in enumerate(parts))


def _isolate_literal(text: str) -> str:
    pieces = _COMMAND.split(text)
    # split() with two groups: text, space, command, text, space, command, ...
    out = []
    for index in range(0, len(pieces), 3):
        out.append(_isolate_tokens(pieces[index]))
        if index + 2 < len(pieces):
            # The space before stays outside (it separates the command from the word
            # before it on screen); the one inside is what Telegram's clients look for.
            out.append(f"{pieces[index + 1]}{LRI} {pieces[index + 2]}{PDI}")
    return "".join(out)


def _isolate_tokens(text: str) -> str:
    def isolate(match: re.Match[str]) -> str:
        token = match.group(0)
        trailing = _TRAILING.search(token)
        tail = trailing.group(0) if trailing else ""
        token = token[: len(token) - len(tail)]
        return f"{LRI}{token}{PDI}{tail}" if token else tail

    return _LTR_RUN.sub(isolate, text)


def anchor_rtl_lines(text: str) -> str:
    """A line that starts with an isolate has no strong character of its own before it,
    so clients would lay it out left to right: anchor it with a RLM."""
    return "\n".join(RLM + line if line.startswith((FSI, LRI)) else line
                     for line in text.split("\n"))


@cache
def _skeleton_pattern(language: str, skeleton: str) -> babel_dates.DateTimePattern:
    locale = Locale.parse(LOCALES[language])
    known = locale.datetime_skeletons
    if skeleton not in known:
        skeleton = babel_dates.match_skeleton(skeleton, known)  # type: ignore[assignment]
    return babel_dates.parse_pattern(known[skeleton])


@cache
def translator(language: str, zone: str = "Europe/Stockholm") -> Translator:
    return Translator(language, zone)


# --- parameters that survive a trip through the database (outbox) ----------------------
def encode_param(value: Any) -> Any:
    """JSON-safe form of a message parameter that is formatted only when rendered."""
    if isinstance(value, Term):
        return {"term": str(value)}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, time):
        return {"time": value.isoformat()}
    return value


def decode_param(value: Mapping[str, Any]) -> Any:
    if "term" in value:
        return Term(value["term"])
    if "datetime" in value:
        return datetime.fromisoformat(value["datetime"])
    if "date" in value:
        return date.fromisoformat(value["date"])
    if "time" in value:
        return time.fromisoformat(value["time"])
    return str(value)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))
