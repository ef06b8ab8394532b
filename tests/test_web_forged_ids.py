"""Ids in the console's paths, queries and forms come from outside: a superscript digit
("²".isdigit() is true, int("²") fails), a number past the database's integer range or
letters are "not found" (or ignored in a form), never a server error, and change nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.models import AuditEntry, Booking, BookingStatus, Person, ReminderRule
from tests.conftest import local
from tests.reminder_support import book, cast, session_at
from tests.web_support import console  # noqa: F401  (fixture)

FORGED = ("²", "99999999999999999999", "١٢", "-1", "1e3")


async def test_forged_ids_in_paths_queries_and_forms_are_refused_quietly(harness, console):  # noqa: F811
    people = cast(harness, ("Amina", "ar"))
    now = harness.clock.now()
    with harness.db() as db:
        session = session_at(db, now, people.world, local(2026, 3, 3, 10, 0))
        book(db, now, db.get_one(Person, people.ids["Amina"]), session)
        session_id = session.id
    # The session is under way: its page has the attendance list.
    harness.clock.set(local(2026, 3, 3, 10, 5))
    browser = await console.browser()
    await browser.sign_in(people.admin)
    with harness.db() as db:
        rules_before = db.scalar(select(func.count()).select_from(ReminderRule))
        audit_before = db.scalar(select(func.count()).select_from(AuditEntry))
    for forged in FORGED:
        for path in (f"/rules/{forged}", f"/sessions/{forged}", f"/caseload/{forged}",
                     f"/sessions/{forged}/cancel"):
            await browser.get(path)
            assert browser.status == 404, (path, browser.status)
        for path in (f"/sessions?centre={forged}", f"/figures?centre={forged}",
                     f"/rules?centre={forged}"):
            await browser.get(path)
            assert browser.status in (200, 404), (path, browser.status)
        # A form naming a forged booking or rule changes nothing.
        await browser.get(f"/sessions/{session_id}")
        await browser.post(f"/sessions/{session_id}/attendance", {f"booking_{forged}": "came"})
        assert browser.status < 500, browser.status
        await browser.get(f"/rules/new?scope={forged}&kind=info_session")
        assert browser.status in (200, 403, 404), browser.status
        await browser.get("/rules/new?scope=0&kind=info_session")
        await browser.post("/rules/preview", {"rule": forged, "scope": forged,
                                              "kind": "info_session", "timing": "-1d 09:00",
                                              "text_en": "Hello"})
        assert browser.status < 500, browser.status
    with harness.db() as db:
        assert db.scalar(select(Booking.status).where(
            Booking.info_session_id == session_id)) == BookingStatus.BOOKED
        assert db.scalar(select(func.count()).select_from(ReminderRule)) == rules_before
        assert db.scalar(select(func.count()).select_from(AuditEntry)) == audit_before


async def test_only_the_consoles_own_static_files_are_served(console):  # noqa: F811
    browser = await console.browser()
    assert "{" in await browser.get("/static/console.css") and browser.status == 200
    for name in ("..%2Fapp.py", "..%5Capp.py", "app.py", "console", "nothing.css"):
        await browser.get(f"/static/{name}")
        assert browser.status == 404, name
