"""Figures in the console: the report's figures for a chosen period and job centre, the
weekly chart, and a CSV with the same columns as ``jobbot report``; coaches see their own
caseload's, admins their centres', and no one another centre's."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from bot.cli_report import rows as report_rows
from bot.models import AttendanceStatus, Enrolment, Person, Role
from bot.services.attendance import follow_up
from bot.services.figures import figures
from bot.services.plans import milestones
from tests import factories
from tests.conftest import local
from tests.reminder_support import World, cast, enrol
from tests.web_support import console  # noqa: F401  (fixture)


def _world(harness):
    """Kista: Amina present on Wednesday and absent on Thursday; Farsta has Sven."""
    harness.clock.set(local(2026, 2, 23, 8, 0))
    people = cast(harness, ("Amina", "ar"), attendance_required=True)
    now = harness.clock.now()
    farsta_phone = harness.phone("Fatima", "en")
    with harness.db() as db:
        farsta = factories.centre(db, now, "Jobbtorg Farsta")
        factories.staff(db, now, Role.ADMIN, farsta, name="Fatima", language="en",
                        telegram_user_id=farsta_phone.id)
        enrol(db, now, World(farsta, None, None, None), "Sven", "sv", attendance_required=True)
        coach = db.get(Person, people.world.coach.id)
        amina = db.scalar(select(Enrolment.id).where(
            Enrolment.aspirant_id == people.ids["Amina"]))
        # Her information session was on Monday: the daily check-in starts on Tuesday.
        milestones.on_info_session_attended(db, now, amina, local(2026, 2, 23, 9).date())
        harness.clock.set(local(2026, 2, 27, 12, 0))
        now = harness.clock.now()
        follow_up.mark(db, now, coach, amina, local(2026, 2, 25, 9).date(),
                       AttendanceStatus.PRESENT)
        follow_up.mark(db, now, coach, amina, local(2026, 2, 26, 9).date(),
                       AttendanceStatus.UNEXCUSED)
    harness.clock.set(local(2026, 3, 2, 8, 0))
    return people, farsta_phone


async def test_figures_for_a_period_with_chart_and_csv(harness, console):  # noqa: F811
    people, _ = _world(harness)
    browser = await console.browser()
    await browser.sign_in(people.admin)
    await browser.get("/figures?from=2026-02-23&to=2026-02-28")
    assert browser.status == 200
    text = browser.text
    assert "Figures for Mon 23 Feb – Sat 28 Feb" in text
    assert "Attendance 50 % (1 of 2)" in text
    assert "Jobbtorg Farsta" not in text  # not this admin's centre
    assert '<img src="/figures/chart.png?from=2026-02-23&amp;to=2026-02-28"' in browser.page

    async with browser.client.get("/figures/chart.png?from=2026-02-23&to=2026-02-28") as r:
        assert r.status == 200 and r.content_type == "image/png"
        assert (await r.read()).startswith(b"\x89PNG")

    async with browser.client.get("/figures.csv?from=2026-02-23&to=2026-02-28") as response:
        assert response.status == 200
        assert 'filename="figures-2026-02-23-2026-02-28.csv"' in \
            response.headers["Content-Disposition"]
        body = (await response.read()).decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(body)))
    # The same rows as ``jobbot report --format csv`` for the same centre and period.
    with harness.db() as db:
        expected = report_rows(figures.compute(db, local(2026, 2, 23, 0).date(),
                                               local(2026, 2, 28, 0).date(),
                                               centre_ids=[people.world.centre.id]))
    assert [row["centre"] for row in table] == [row["centre"] for row in expected]
    assert table[0]["attendance_present_days"] == "1"
    assert table[0]["attendance_recorded_days"] == "2"


async def test_a_coach_sees_their_own_caseloads_figures(harness, console):  # noqa: F811
    people, _ = _world(harness)
    browser = await console.browser()
    await browser.sign_in(people.coach)
    await browser.post("/language", {"language": "en", "next": "/figures?from=2026-02-23"})
    assert "The figures of your own aspirants." in browser.text
    assert "Your aspirants" in browser.text and "50 % (1 of 2)" in browser.text
    assert 'id="centre"' not in browser.page  # no choice of centre


async def test_bad_periods_are_explained(harness, console):  # noqa: F811
    people, _ = _world(harness)
    browser = await console.browser()
    await browser.sign_in(people.admin)
    for query, problem in (
        ("from=2026-03-01&to=2026-02-01", "The period ends before it starts."),
        ("from=yesterday", "Not a date: yesterday. Write it like 2026-03-31."),
        ("from=2020-01-01&to=2026-01-01", "Choose a period of at most two years."),
    ):
        await browser.get(f"/figures?{query}")
        assert browser.status == 400 and problem in browser.text, query
    async with browser.client.get("/figures.csv?from=yesterday") as response:
        assert response.status == 400


async def test_another_centre_is_not_shown(harness, console):  # noqa: F811
    people, farsta_admin = _world(harness)
    browser = await console.browser()
    await browser.sign_in(farsta_admin)
    await browser.get(f"/figures?centre={people.world.centre.id}")
    assert browser.status == 404
    async with browser.client.get(f"/figures.csv?centre={people.world.centre.id}") as r:
        assert r.status == 404
        assert "Jobbtorg Kista" not in await r.text()
    await browser.get("/figures?from=2026-02-23&to=2026-02-28")
    assert "Jobbtorg Farsta" in browser.text and "Jobbtorg Kista" not in browser.text
