"""PNG charts for the figures (matplotlib, no display needed)."""

from __future__ import annotations

import io
from datetime import date

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from bot.services.figures.figures import Share


def weekly_chart(attendance: dict[date, Share], first_plan: dict[date, Share], *,
                 title: str, attendance_label: str, first_plan_label: str,
                 week_label: str) -> bytes:
    """Weekly attendance rate and share of first plans on time, in percent."""
    figure, axes = plt.subplots(figsize=(8, 4), dpi=100)
    try:
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
    finally:
        plt.close(figure)
