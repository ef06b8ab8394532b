"""Signing in to the web console from the chat: /web answers staff with a one-time link
valid for ten minutes; sessions live in the database, expire, are listed and can be ended;
cookies are HttpOnly and SameSite=Strict (and Secure behind https); aspirants have none."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.db import head_revisions
from bot.models import AuditEntry, ConsoleSession, ConsoleSignInLink, Role
from bot.services.people import people as people_service
from bot.web.app import make_app
from tests import factories
from tests.reminder_support import cast
from tests.web_support import LINK, Browser, console, link_for  # noqa: F401  (fixture)


def _token(text: str) -> str:
    found = LINK.search(text)
    assert found, text
    return found.group(1)


async def test_staff_sign_in_from_the_link_the_bot_sends(harness, console):  # noqa: F811
    people = cast(harness, ("Amina", "ar"))
    answer = await link_for(people.admin)
    # The link says how long it works and that it is personal.
    assert "10 minutes" in answer and "do not share it" in answer
    token = _token(answer)
    browser = await console.browser()

    await browser.get(f"/signin/{token}")
    assert browser.status == 200
    assert "You are signing in as Maria." in browser.text
    # Opening the page (as a link preview would) does not use the link up.
    async with browser.client.post("/signin", data={"token": token},
                                   allow_redirects=False) as response:
        assert response.status == 303
        cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain http on this machine
    await browser.get("/")
    assert browser.status == 200 and "Welcome, Maria" in browser.text
    assert "Administrator at Jobbtorg Kista" in browser.text

    # Only hashes are stored: the tokens appear nowhere in the database.
    session_token = cookie.split(";")[0].split("=", 1)[1]
    with harness.db() as db:
        stored = [*db.scalars(select(ConsoleSignInLink.token_hash)),
                  *db.scalars(select(ConsoleSession.token_hash))]
        assert stored and token not in stored and session_token not in stored
        assert [e.action for e in db.scalars(select(AuditEntry).where(
            AuditEntry.action.like("console.%")).order_by(AuditEntry.id))] == [
            "console.link", "console.sign_in"]


async def test_a_used_link_does_not_sign_in_again(harness, console):  # noqa: F811
    people = cast(harness)
    link = await link_for(people.admin)
    first = await console.browser()
    await first.open_link(link)
    assert "Welcome, Maria" in first.text

    second = await console.browser()
    await second.open_link(link)
    assert second.status == 410
    assert "already been used or has expired" in second.text
    await second.get("/")
    assert second.url.endswith("/signin") and "/signout" not in second.page


async def test_an_expired_link_does_not_sign_in(harness, console):  # noqa: F811
    people = cast(harness)
    link = await link_for(people.admin)
    harness.clock.advance(timedelta(minutes=10, seconds=1))
    browser = await console.browser()
    await browser.get(f"/signin/{_token(link)}")
    assert browser.status == 410 and "already been used or has expired" in browser.text
    # Posting the token anyway changes nothing.
    await browser.post("/signin", {"token": _token(link)}, csrf=False)
    assert browser.status == 410
    await browser.get("/")
    assert "/signout" not in browser.page


async def test_a_link_just_inside_ten_minutes_works_and_a_newer_link_replaces_it(
        harness, console):  # noqa: F811
    people = cast(harness)
    older = await link_for(people.admin)
    newer = await link_for(people.admin)
    browser = await console.browser()
    await browser.open_link(older)
    assert browser.status == 410  # replaced by the newer one
    harness.clock.advance(timedelta(minutes=9, seconds=59))
    await browser.open_link(newer)
    assert "Welcome, Maria" in browser.text


async def test_aspirants_and_strangers_get_no_link(harness, console):  # noqa: F811
    people = cast(harness, ("Amina", "en"))
    answer = await people.aspirants["Amina"].send("/web")
    assert answer[-1]["text"] == "Sorry, this is not available to you."
    stranger = harness.phone("Someone", "en")
    answer = await stranger.send("/web")
    assert "I don't know you yet" in answer[-1]["text"]
    with harness.db() as db:
        assert list(db.scalars(select(ConsoleSignInLink))) == []


async def test_pages_without_a_session_lead_to_the_sign_in_page(harness, console):  # noqa: F811
    cast(harness)
    browser = await console.browser()
    for path in ("/", "/rules", "/caseload", "/sessions", "/figures", "/account"):
        await browser.get(path)
        assert browser.url.endswith("/signin"), path
        assert "send /web to the bot" in browser.text


async def test_sessions_are_listed_and_one_can_be_ended_from_another_browser(
        harness, console):  # noqa: F811
    people = cast(harness)
    desk = await console.browser()
    laptop = await console.browser()
    await desk.sign_in(people.admin)
    await laptop.sign_in(people.admin)
    await desk.get("/account")
    assert desk.page.count("/end\"") == 2 and desk.text.count("(this browser)") == 1
    with harness.db() as db:
        ids = sorted(db.scalars(select(ConsoleSession.id)))
    # The desk ends the laptop's session (the older one is the desk's own).
    await desk.post(f"/account/sessions/{ids[1]}/end")
    assert desk.status == 200 and desk.url.endswith("/account?ended=1")
    await laptop.get("/")
    assert laptop.url.endswith("/signin")
    await desk.get("/")
    assert "Welcome, Maria" in desk.text


async def test_no_one_ends_another_persons_session(harness, console):  # noqa: F811
    people = cast(harness)
    admin = await console.browser()
    coach = await console.browser()
    await admin.sign_in(people.admin)
    await coach.sign_in(people.coach)
    with harness.db() as db:
        admin_session = db.scalar(select(ConsoleSession.id).order_by(ConsoleSession.id))
    await coach.get("/account")
    await coach.post(f"/account/sessions/{admin_session}/end")
    assert coach.status == 404
    await admin.get("/")
    assert "Welcome, Maria" in admin.text


async def test_signing_out_ends_the_session(harness, console):  # noqa: F811
    people = cast(harness)
    browser = await console.browser()
    await browser.sign_in(people.admin)
    await browser.post("/signout")
    assert browser.url.endswith("/signin?out=1") and "You have signed out." in browser.text
    await browser.get("/rules")
    assert browser.url.endswith("/signin")
    with harness.db() as db:
        assert all(s.ended_at is not None for s in db.scalars(select(ConsoleSession)))


async def test_a_session_ends_after_an_hour_unused_and_after_twelve_hours(
        harness, console):  # noqa: F811
    people = cast(harness)
    browser = await console.browser()
    await browser.sign_in(people.admin)
    for _ in range(13):  # in use all day: 11 h 55 min
        harness.clock.advance(timedelta(minutes=55))
        await browser.get("/")
        assert "Welcome, Maria" in browser.text
    harness.clock.advance(timedelta(minutes=10))  # past twelve hours since signing in
    await browser.get("/")
    assert browser.url.endswith("/signin")

    await browser.sign_in(people.admin)
    harness.clock.advance(timedelta(hours=1, seconds=1))
    await browser.get("/")
    assert browser.url.endswith("/signin")


async def test_a_removed_role_signs_out_at_once(harness, console):  # noqa: F811
    people = cast(harness)
    browser = await console.browser()
    await browser.sign_in(people.coach)
    with harness.db() as db:
        coach = people_service.by_telegram_id(db, people.coach.id)
        people_service.revoke_role(db, harness.clock.now(), coach, Role.COACH,
                                   people.world.centre.id, actor=None)
    await browser.get("/caseload")
    assert browser.url.endswith("/signin")


async def test_the_console_speaks_swedish_or_english(harness, console):  # noqa: F811
    people = cast(harness)
    browser = await console.browser()
    # The coach's chat language is Swedish: so is the console's at first.
    await browser.sign_in(people.coach)
    assert "Välkommen, Johan" in browser.text
    await browser.post("/language", {"language": "en", "next": "/caseload"})
    assert browser.url.endswith("/caseload") and "Your aspirants" in browser.text
    await browser.post("/language", {"language": "ar", "next": "/"})
    assert browser.status == 400
    # Somewhere else than this console is not a place to be sent back to.
    await browser.post("/language", {"language": "sv", "next": "//evil.example"})
    assert browser.url.endswith("/") and "Välkommen" in browser.text


async def test_behind_https_the_cookie_is_secure_and_host_only(harness):
    people = cast(harness)
    settings = harness.runtime.settings.model_copy(
        update={"web_public_url": "https://console.example.org"})
    harness.runtime.settings = settings
    from aiohttp.test_utils import TestClient, TestServer

    app = make_app(harness.runtime, heads=head_revisions(settings.database_url))
    async with TestClient(TestServer(app)) as client:
        answer = await link_for(people.admin)
        assert "https://console.example.org/signin/" in answer
        # Behind https Telegram can show a button that opens the link.
        message = harness.emulator.bot_messages(people.admin.id)[-1]
        assert message["reply_markup"]["inline_keyboard"][0][0]["url"].startswith(
            "https://console.example.org/signin/")
        async with client.post("/signin", data={"token": _token(answer)},
                               headers={"Origin": "https://console.example.org"},
                               allow_redirects=False) as response:
            cookie = response.headers["Set-Cookie"]
            assert response.headers["Strict-Transport-Security"]
    assert cookie.startswith("__Host-jobbot_console=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


async def test_a_sign_in_posted_from_another_site_is_refused(harness, console):  # noqa: F811
    people = cast(harness)
    token = _token(await link_for(people.admin))
    browser = await console.browser()
    await browser.post("/signin", {"token": token}, csrf=False,
                       headers={"Origin": "https://evil.example"})
    assert browser.status == 403
    # The link was not used up by the refused post.
    await browser.get(f"/signin/{token}")
    assert browser.status == 200


async def test_every_page_is_hardened(harness, console):  # noqa: F811
    people = cast(harness)
    browser = await console.browser()
    await browser.sign_in(people.admin)
    async with browser.client.get("/rules") as response:
        headers = response.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src" not in headers["Content-Security-Policy"]  # default 'none': no scripts
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"


async def test_a_coach_at_two_centres_is_one_person_with_one_link(harness, console):  # noqa: F811
    people = cast(harness)
    now = harness.clock.now()
    with harness.db() as db:
        farsta = factories.centre(db, now, "Jobbtorg Farsta")
        coach = people_service.by_telegram_id(db, people.coach.id)
        people_service.grant_role(db, now, coach, Role.COACH, job_centre_id=farsta.id)
    browser = await console.browser()
    await browser.sign_in(people.coach)
    assert "Coach på Jobbtorg Kista" in browser.text
    assert "Coach på Jobbtorg Farsta" in browser.text


async def test_before_sign_in_the_page_speaks_the_browsers_language(harness, console):  # noqa: F811
    cast(harness)
    swedish = await console.browser("sv-SE,sv;q=0.9,en;q=0.5")
    await swedish.get("/signin")
    assert "skicka /web till boten" in swedish.text
    arabic = await console.browser("ar")  # staff pages are in Swedish or English
    await arabic.get("/signin")
    assert "skicka /web till boten" in arabic.text  # the bot's default language, Swedish
    english = await console.browser("en-GB,en;q=0.8")
    await english.get("/signin")
    assert "send /web to the bot" in english.text
