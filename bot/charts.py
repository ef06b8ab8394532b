"""PNG charts for the figures (matplotlib, no display needed).

matplotlib is imported only when a chart is drawn (or a font looked up): it is a large
part of the bot's memory, and most processes never draw one. Charts are drawn on a
``Figure`` of their own (not pyplot's global state), so two can be drawn in two threads
at once.

A chart is read on a phone: it covers exactly the requested period with one point per
week (a week without data is a gap, not a missing tick), in large type, with the legend
under the plot. Its words are in the reader's language when a font on this machine has
the script's glyphs (Noto for Arabic and Ethiopic; matplotlib ≥ 3.11 shapes Arabic
itself, with libraqm); ``can_show`` tells the caller when it does not.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from bot.services.figures.figures import Share

if TYPE_CHECKING:
    from bot.i18n import Translator

# Tried in this order for every character: Latin first, then the scripts it lacks.
FONT_FAMILIES = ("DejaVu Sans", "Noto Sans", "Noto Sans Arabic", "Noto Naskh Arabic",
                 "Noto Sans Ethiopic", "Noto Serif Ethiopic")
WIDTH_INCHES, HEIGHT_INCHES, DPI = 6.0, 6.0, 170  # about 1000 px square: a phone's width
FONT_SIZE = 13
MAX_WEEK_LABELS = 8  # more and they overlap on a phone: label every other week


@dataclass(frozen=True)
class ChartWords:
    """What the chart says, already in the reader's language."""

    title: str
    attendance: str
    first_plan: str
    week: str
    week_label: Callable[[date], str]  # the tick under a week, e.g. "24 Nov"


def words_for(t: Translator) -> ChartWords:
    """The chart's words in ``t``'s language (chat and web console alike)."""
    return ChartWords(title=t._("Week by week"), attendance=t._("Attendance"),
                      first_plan=t._("Plan, work or a measure within 5 working days"), week=t._("Week"),
                      week_label=t.day_month)


def weeks_of(first: date, last: date) -> list[date]:
    """The Mondays of the weeks that the period touches, in order."""
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def draw_weekly_chart(attendance: dict[date, Share], first_plan: dict[date, Share], *,
                      first: date, last: date, words: ChartWords) -> Any:
    """Weekly attendance rate and share of first plans on time, in percent, for the weeks
    of ``first``..``last`` (a matplotlib ``Figure``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    weeks = weeks_of(first, last)
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    text = {"fontfamily": list(_available_families()), "fontsize": FONT_SIZE}
    for series, label, marker in ((attendance, words.attendance, "o"),
                                  (first_plan, words.first_plan, "s")):
        rates = [_percent(series.get(week)) for week in weeks]
        axes.plot(range(len(weeks)), rates, marker=marker, markersize=7, linewidth=2.2,
                  label=label)
    axes.set_xlim(-0.5, len(weeks) - 0.5)
    axes.set_ylim(0, 105)
    step = 1 if len(weeks) <= MAX_WEEK_LABELS else 2
    axes.set_xticks(range(0, len(weeks), step))
    axes.set_xticklabels([words.week_label(week) for week in weeks[::step]],
                         rotation=45, ha="right", **text)
    axes.tick_params(axis="y", labelsize=FONT_SIZE)
    axes.set_ylabel("%", **text)
    axes.set_xlabel(words.week, **text)
    axes.set_title(words.title, fontweight="bold", **{**text, "fontsize": FONT_SIZE + 3})
    axes.grid(True, alpha=0.3)
    # Under the plot, one entry a line: it never hides a point, and long labels fit.
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.42), ncol=1, frameon=False,
                prop={"family": list(_available_families()), "size": FONT_SIZE})
    figure.tight_layout()
    return figure


def weekly_chart(attendance: dict[date, Share], first_plan: dict[date, Share], *,
                 first: date, last: date, words: ChartWords) -> bytes:
    figure = draw_weekly_chart(attendance, first_plan, first=first, last=last, words=words)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def can_show(texts: Iterable[str]) -> bool:
    """Whether the fonts on this machine have a glyph for every character of ``texts``."""
    covered = _covered_characters()
    return all(ord(character) in covered or not character.strip()
               or _invisible(character) for text in texts for character in text)


def _percent(share: Share | None) -> float:
    rate = share.rate if share is not None else None
    return float("nan") if rate is None else 100 * rate


def _invisible(character: str) -> bool:
    import unicodedata

    return unicodedata.category(character) in ("Cf", "Zs", "Mn")


@cache
def _available_families() -> tuple[str, ...]:
    from matplotlib import font_manager

    found = []
    for family in FONT_FAMILIES:
        try:
            font_manager.findfont(font_manager.FontProperties(family=family),
                                  fallback_to_default=False)
        except ValueError:
            continue
        found.append(family)
    return tuple(found) or ("DejaVu Sans",)


@cache
def _covered_characters() -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    covered: set[int] = set()
    for family in _available_families():
        path = font_manager.findfont(font_manager.FontProperties(family=family))
        covered |= set(FT2Font(path).get_charmap())
    return frozenset(covered)
