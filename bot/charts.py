"""PNG charts for the figures (matplotlib, no display needed).

matplotlib is imported only when a chart is drawn: it is a large part of the bot's
memory, and most processes never draw one. Charts are drawn on a ``Figure`` of their
own (not pyplot's global state), so two can be drawn in two threads at once.
"""

from __future__ import annotations

import io
from datetime import date

from bot.services.figures.figures import Share


def weekly_chart(attendance: dict[date, Share], first_plan: dict[date, Share], *,
                 title: str, attendance_label: str, first_plan_label: str,
                 week_label: str) -> bytes:
    """Weekly attendance rate and share of first plans on time, in percent."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    for series, label, marker in ((attendance, attendance_label, "o"),
                                  (first_plan, first_plan_label, "s")):
        weeks = [w for w, share in series.items() if share.rate is not None]
        rates = [100 * series[w].rate for w in weeks]  # type: ignore[operator]
        axes.plot(weeks, rates, marker=marker, label=label)
    axes.set_ylim(0, 105)
    axes.set_ylabel("%")
    axes.set_xlabel(week_label)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower left")
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
