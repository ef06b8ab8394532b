"""The /report chart: the requested period, one point per week, words in the reader's
language with a font that has its script."""

from __future__ import annotations

import io
import math
from datetime import date
from itertools import pairwise

import pytest

from bot.charts import can_show, draw_weekly_chart, weeks_of
from bot.i18n import translator
from bot.models import Role
from bot.services.figures.figures import Share
from handlers.report import NO_FONT_NOTE, chart_words
from tests import factories

FIRST, LAST = date(2026, 8, 30), date(2026, 11, 27)  # a Sunday to a Friday, 90 days


def test_the_axis_covers_the_requested_period_with_one_point_a_week():
    weeks = weeks_of(FIRST, LAST)
    assert weeks[0] == date(2026, 8, 24) and weeks[-1] == date(2026, 11, 23)
    assert len(weeks) == 14
    assert {(b - a).days for a, b in pairwise(weeks)} == {7}
    # Data in a single week: the axis still spans the period, not years around one dot.
    one_week = {date(2026, 10, 5): Share(hits=3, total=4)}
    figure = draw_weekly_chart(one_week, {}, first=FIRST, last=LAST,
                               words=chart_words(translator("en")))
    axes = figure.axes[0]
    assert axes.get_xlim() == (-0.5, 13.5)
    attendance, first_plan = axes.get_lines()
    xs, ys = attendance.get_data()
    assert list(xs) == list(range(14))
    assert [round(y) for y in ys if not math.isnan(y)] == [75]
    assert ys[weeks.index(date(2026, 10, 5))] == 75
    assert all(math.isnan(y) for y in first_plan.get_data()[1])
    labels = [label.get_text() for label in axes.get_xticklabels()]
    assert labels[0] == "24 Aug" and "5 Oct" in labels
    assert axes.get_ylim() == (0, 105)


@pytest.mark.parametrize("language", ["sv", "en", "ar", "so", "fa", "ti"])
def test_labels_are_in_the_readers_language_and_every_glyph_is_there(language):
    t = translator(language)
    words = chart_words(t)
    texts = [words.title, words.attendance, words.first_plan, words.week,
             *(words.week_label(w) for w in weeks_of(FIRST, LAST))]
    # The machine (and CI) has fonts for Arabic and Ethiopic script (Noto).
    assert can_show(texts), language
    figure = draw_weekly_chart({}, {}, first=FIRST, last=LAST, words=words)
    axes = figure.axes[0]
    assert axes.get_title() == t._("Week by week")
    assert [text.get_text() for text in axes.get_legend().get_texts()] == [
        t._("Attendance"), t._("Plan, work or a measure within 5 working days")]
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    width, height = figure.get_size_inches() * figure.dpi
    assert 800 <= width <= 1200 and 0.8 <= height / width <= 1.25  # readable on a phone


def test_a_script_without_a_font_is_noticed():
    assert not can_show(["𐌰𐌱𐌲"])  # Gothic: no font on the machine has it


async def test_report_chart_in_arabic_is_labelled_in_arabic(harness):
    now = harness.clock.now()
    phone = harness.phone("Karin", "ar")
    with harness.db() as db:
        centre = factories.centre(db, now)
        factories.staff(db, now, Role.COACH, centre, language="ar",
                        telegram_user_id=phone.id)
    replies = await phone.send("/report")
    photo = replies[-1]
    ar = translator("ar")
    assert photo["caption"] == ar._("Attendance, and the five-day guarantee met")
    assert ar._(NO_FONT_NOTE) not in photo["caption"]
    assert harness.emulator.files[photo["photo"][0]["file_id"]][1].startswith(b"\x89PNG")
