"""The staff web console in a real browser: Chromium (the system's, /usr/bin/chromium)
driven by Playwright against the console served by the real application on 127.0.0.1,
beside the offline bot on a clock the test sets.

An admin signs in with the link the bot sends after /web, edits a reminder rule and sees
the preview change, saves it and sees the reminders planned again, and takes attendance at
an information session. A coach cannot open the admin pages; a used or an expired link
does not sign in; a form without its CSRF token changes nothing; one centre's staff
cannot see another centre's aspirants. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.models import Booking, BookingStatus, Enrolment, Person, ReminderRule, Role
from tests import factories
from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    STEP_TIMEOUT_MS,
    playwright_api,
)
from tests.conftest import local
from tests.reminder_support import book, cast, session_at
from tests.web_support import LiveConsole

pytestmark = pytest.mark.browser


@pytest.fixture
def live(tmp_path: Path, sqlite_template: Path) -> Iterator[LiveConsole]:
    path = tmp_path / "console.sqlite3"
    shutil.copy(sqlite_template, path)
    console = LiveConsole(f"sqlite:///{path}", ManualClock(local(2026, 3, 2, 8, 0))).start()
    try:
        yield console
    finally:
        console.stop()


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[object]:
    _, sync_playwright = playwright_api()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _page(chromium, name: str):  # type: ignore[no-untyped-def]
    """A browser window of its own (its own cookies): one person at one desk."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.artifact = name
    return page


def _sign_in(page, live: LiveConsole, phone) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(live.link(phone))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _world(live: LiveConsole):  # type: ignore[no-untyped-def]
    """Kista (Maria its admin, Johan its coach) with Amina and Erik booked on Wednesday
    10:00; Sara administers every centre; Farsta has its own coach, Olle."""
    harness = live.harness
    assert harness is not None
    people = cast(harness, ("Amina", "ar"), ("Erik", "sv"))
    now = harness.clock.now()
    sara = harness.phone("Sara", "en")
    olle = harness.phone("Olle", "en")
    with live.db() as db:
        factories.staff(db, now, Role.ADMIN, None, name="Sara", language="en",
                        telegram_user_id=sara.id)
        farsta = factories.centre(db, now, "Jobbtorg Farsta")
        factories.staff(db, now, Role.COACH, farsta, name="Olle", language="en",
                        telegram_user_id=olle.id)
        session = session_at(db, now, people.world, local(2026, 3, 4, 10, 0))
        for name in ("Amina", "Erik"):
            book(db, now, db.get(Person, people.ids[name]), session)
        rule_id = db.scalar(select(ReminderRule.id).where(
            ReminderRule.job_centre_id.is_(None), ReminderRule.offset_days == -1))
    return people, sara, olle, session.id, rule_id


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def test_an_admin_edits_a_rule_with_its_preview_and_takes_attendance(live, chromium):
    from playwright.sync_api import expect

    people, sara, _olle, session_id, rule_id = _world(live)
    page = _page(chromium, "admin")
    try:
        _sign_in(page, live, sara)
        expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Sara")

        # --- the rule, its preview, and the preview changing with the draft ---------------
        page.get_by_role("navigation", name="Main menu").get_by_role(
            "link", name="Reminder rules").click()
        page.get_by_role("link", name="Open — 1 day before, at the same time, Aspirant").click()
        preview = page.locator("#preview-table tbody tr")
        expect(preview).to_have_count(2)
        expect(preview.first).to_contain_text("Tue 3 Mar 10:00")
        expect(preview.first).to_contain_text("Amina")
        # Every language side by side, the missing texts marked.
        expect(page.locator(".missing-mark")).to_have_count(6)

        page.get_by_label("When").fill("-90m")
        page.get_by_label("Svenska").fill("Hej {name}! Informationsmöte {date} kl. {time}.")
        page.get_by_role("button", name="Show the preview").click()
        expect(page.locator("#timing-said")).to_have_text("90 minutes before")
        expect(preview.first).to_contain_text("Wed 4 Mar 08:30")
        expect(page.locator(".missing-mark")).to_have_count(5)  # Swedish has its text now
        expect(page.locator(".sample blockquote").first).to_contain_text("Hej Amina!")
        _shot(page, "rule-preview")
        # Looking saved nothing: the outbox still has the day-before reminders.
        with live.db() as db:
            assert db.get(ReminderRule, rule_id).offset_days == -1

        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status").first).to_contain_text("Saved.")
        planned = page.locator("#planned-table tbody tr")
        expect(planned).to_have_count(2)
        expect(planned.first).to_contain_text("Wed 4 Mar 08:30")
        expect(planned.first).to_contain_text("planned")
        with live.db() as db:
            rule = db.get(ReminderRule, rule_id)
            assert (rule.offset_days, rule.offset_minutes) == (0, -90)

        # --- Wednesday, after the session started: attendance from the list -------------------
        live.clock.set(local(2026, 3, 4, 10, 5))
        page.goto(f"{live.url}/sessions")
        expect(page).to_have_url(f"{live.url}/signin")  # a new day: signed out meanwhile
        _sign_in(page, live, sara)
        page.goto(f"{live.url}/sessions?centre={people.world.centre.id}")
        page.get_by_role("link", name="Open — Wednesday, 4 March 2026 10:00–12:00").click()
        page.get_by_role("radio", name="Amina Came").check()
        page.get_by_role("radio", name="Erik Did not come").check()
        page.get_by_role("button", name="Save attendance").click()
        expect(page.get_by_role("status")).to_have_text("Attendance saved.")
        expect(page.get_by_role("row", name="Amina")).to_contain_text("attended")
        expect(page.get_by_role("row", name="Erik")).to_contain_text("did not come")
        _shot(page, "attendance")
        with live.db() as db:
            statuses = {db.get(Person, b.aspirant_id).display_name: b.status
                        for b in db.scalars(select(Booking).where(
                            Booking.info_session_id == session_id))}
        assert statuses == {"Amina": BookingStatus.ATTENDED, "Erik": BookingStatus.NO_SHOW}
    except Exception:
        _shot(page, "admin-failure")
        raise


def test_links_roles_csrf_and_centres_keep_people_out(live, chromium):
    from playwright.sync_api import expect

    people, sara, olle, _session_id, rule_id = _world(live)

    # --- a coach has no admin pages ---------------------------------------------------------
    coach = _page(chromium, "coach")
    link = live.link(people.coach)
    coach.goto(link)
    coach.get_by_role("button", name="Sign in").click()
    menu = coach.get_by_role("navigation")
    expect(menu).to_be_visible()
    expect(menu.locator('a[href="/caseload"]')).to_be_visible()
    expect(menu.locator('a[href="/rules"]')).to_have_count(0)
    coach.goto(f"{live.url}/rules/{rule_id}")
    expect(coach.get_by_role("alert")).to_have_text("Tyvärr kan du inte använda det här.")

    # --- a used link and an expired link do not sign in -------------------------------------
    stranger = _page(chromium, "stranger")
    stranger.goto(link)
    expect(stranger.get_by_role("alert")).to_contain_text("already been used or has expired")
    expect(stranger.get_by_role("button", name="Sign in")).to_have_count(0)
    late = live.link(sara)
    live.clock.advance(timedelta(minutes=10, seconds=1))
    stranger.goto(late)
    expect(stranger.get_by_role("alert")).to_contain_text("already been used or has expired")
    stranger.goto(f"{live.url}/rules")
    expect(stranger).to_have_url(f"{live.url}/signin")

    # --- a form without its CSRF token changes nothing --------------------------------------
    admin = _page(chromium, "admin")
    _sign_in(admin, live, sara)
    admin.goto(f"{live.url}/rules/{rule_id}")
    admin.get_by_label("When").fill("-45m")
    admin.locator("input[name=csrf]").evaluate_all("inputs => inputs.forEach(i => i.remove())")
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_role("alert")).to_contain_text("This form has expired or did not come "
                                                       "from this console")
    with live.db() as db:
        rule = db.get(ReminderRule, rule_id)
        assert (rule.offset_days, rule.offset_minutes) == (-1, 0)

    # --- one centre's staff cannot see another's aspirants ----------------------------------
    farsta = _page(chromium, "farsta")
    _sign_in(farsta, live, olle)
    farsta.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Caseload").click()
    expect(farsta.get_by_role("heading", level=1)).to_have_text("Your aspirants")
    expect(farsta.locator("main")).not_to_contain_text("Amina")
    with live.db() as db:
        amina = db.scalar(select(Enrolment.id).where(
            Enrolment.aspirant_id == people.ids["Amina"]))
    farsta.goto(f"{live.url}/caseload/{amina}")
    expect(farsta.get_by_role("alert")).to_have_text(
        "This aspirant is not in your caseload (any more).")
    expect(farsta.locator("main")).not_to_contain_text("Amina")
    _shot(farsta, "refused")
