"""The caseload in the console: a coach's aspirants with those at risk first (unexplained
absences, overdue plans, unreachable), each with attendance, plan milestones and recent
messages with why one was not sent; and one centre's staff never see another's."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.models import AttendanceStatus, Enrolment, Person, Role
from bot.services.attendance import follow_up
from bot.services.people import reachability
from bot.services.plans import milestones
from tests import factories
from tests.conftest import local
from tests.reminder_support import book, cast, session_at
from tests.web_support import console  # noqa: F401  (fixture)


def _world(harness):
    """Johan's aspirants at Kista, enrolled a week ago: Amina was absent on Friday without
    a reason, Erik's first plan was due on Friday, Hodan has blocked the bot, Sven is fine."""
    harness.clock.set(local(2026, 2, 23, 8, 0))
    people = cast(harness, ("Sven", "sv"), ("Amina", "ar"), ("Erik", "sv"), ("Hodan", "so"),
                  attendance_required=True)
    now = harness.clock.now()
    lead_phone = harness.phone("Lena", "en")
    with harness.db() as db:
        factories.staff(db, now, Role.TEAM_LEAD, people.world.centre, name="Lena",
                        language="en", telegram_user_id=lead_phone.id)
        enrolments = {name: db.scalar(select(Enrolment.id).where(Enrolment.aspirant_id == pid))
                      for name, pid in people.ids.items()}
        milestones.on_info_session_attended(db, now, enrolments["Erik"], local(2026, 2, 20,
                                                                              9).date())
        # Amina and Sven came to the information session later: their daily check-in
        # starts the day after, and their first plan is not due yet.
        for name in ("Amina", "Sven"):
            milestones.on_info_session_attended(db, now, enrolments[name],
                                                local(2026, 2, 26, 9).date())
        session = session_at(db, now, people.world, local(2026, 3, 4, 10, 0))
        book(db, now, db.get(Person, people.ids["Hodan"]), session)
    harness.clock.set(local(2026, 3, 2, 8, 0))
    now = harness.clock.now()
    with harness.db() as db:
        coach = db.get(Person, people.world.coach.id)
        follow_up.mark(db, now, coach, enrolments["Amina"], local(2026, 2, 27, 9).date(),
                       AttendanceStatus.UNEXCUSED)
        follow_up.mark(db, now, coach, enrolments["Sven"], local(2026, 2, 27, 9).date(),
                       AttendanceStatus.PRESENT)
        reachability.mark_unreachable(db, now, people.ids["Hodan"])
    return people, enrolments, lead_phone


def _names_in_order(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1]
    return re.findall(r'<a href="/caseload/\d+">([^<]+)</a>', body)


async def test_a_coach_sees_the_aspirants_at_risk_first(harness, console):  # noqa: F811
    people, _enrolments, _ = _world(harness)
    browser = await console.browser()
    await browser.sign_in(people.coach)
    await browser.post("/language", {"language": "en", "next": "/caseload"})
    assert "3 aspirants need attention; they come first." in browser.text
    order = _names_in_order(browser.page)
    assert order[-1] == "Sven" and set(order[:3]) == {"Amina", "Erik", "Hodan"}
    rows = {name: row for name, row in zip(order, browser.page.split("<tbody>", 1)[1]
                                               .split("</tr>"), strict=False)}
    assert "unexplained absence" in rows["Amina"]
    assert "plan overdue" in rows["Erik"] and "First job plan overdue since" in rows["Erik"]
    assert "unreachable in Telegram" in rows["Hodan"]
    assert "badge" not in rows["Sven"]


async def test_one_aspirant_with_attendance_plan_and_why_a_message_was_not_sent(
        harness, console):  # noqa: F811
    people, enrolments, _ = _world(harness)
    browser = await console.browser()
    await browser.sign_in(people.coach)
    await browser.post("/language", {"language": "en", "next": "/"})

    await browser.get(f"/caseload/{enrolments['Amina']}")
    text = browser.text
    assert "Amina" in text and "unexplained absence" in text
    assert "Fri 27 Feb: absent, no reason given" in text
    assert "Unexcused in a row 1" in text

    await browser.get(f"/caseload/{enrolments['Erik']}")
    assert "First job plan: due Fri 27 Feb — overdue" in browser.text

    await browser.get(f"/caseload/{enrolments['Hodan']}")
    text = browser.text
    # Her session reminders were stopped when Telegram refused her: the page says why.
    assert "reminder: information session" in text
    assert "cancelled the person has blocked the bot or left Telegram" in text


async def test_a_team_lead_opens_a_coachs_caseload_at_their_centre(harness, console):  # noqa: F811
    _people, enrolments, lead = _world(harness)
    browser = await console.browser()
    await browser.sign_in(lead)
    await browser.get("/caseload")
    assert "Aspirants of Johan" in browser.text
    assert set(_names_in_order(browser.page)) == {"Sven", "Amina", "Erik", "Hodan"}
    await browser.get(f"/caseload/{enrolments['Amina']}")
    assert browser.status == 200 and "Amina" in browser.text


async def test_another_centres_staff_cannot_see_these_aspirants(harness, console):  # noqa: F811
    people, enrolments, _ = _world(harness)
    now = harness.clock.now()
    coach_phone = harness.phone("Olle", "en")
    lead_phone = harness.phone("Frida", "en")
    with harness.db() as db:
        farsta = factories.centre(db, now, "Jobbtorg Farsta")
        factories.staff(db, now, Role.COACH, farsta, name="Olle", language="en",
                        telegram_user_id=coach_phone.id)
        factories.staff(db, now, Role.TEAM_LEAD, farsta, name="Frida", language="en",
                        telegram_user_id=lead_phone.id)
    for phone in (coach_phone, lead_phone):
        browser = await console.browser()
        await browser.sign_in(phone)
        await browser.get("/caseload")
        assert browser.status == 200
        for name in ("Amina", "Erik", "Hodan", "Sven"):
            assert not re.search(rf"\b{name}\b", browser.text), (phone.id, name)
        await browser.get(f"/caseload?coach={people.world.coach.id}")
        assert browser.status == 404
        assert "Johan" not in browser.text and "Amina" not in browser.text
        for enrolment in enrolments.values():
            await browser.get(f"/caseload/{enrolment}")
            assert browser.status == 404
            assert "This aspirant is not in your caseload (any more)." in browser.text
            assert not re.search(r"\b(Amina|Erik|Hodan|Sven)\b", browser.text)
