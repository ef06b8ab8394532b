"""``jobbot sandbox`` in process: the seed, the page's API and the time control.

The sandbox runs for real (emulated Bot API over HTTP, the bot polling it, the page
server); these tests act through the page's HTTP API like the browser does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.cli import build_parser
from bot.db import unit_of_work
from bot.models import AttendancePolicy, InfoSession, Invite, Role
from bot.sandbox.app import Sandbox
from bot.sandbox.seed import SANDBOX
from bot.services.attendance import checkin_codes
from bot.services.attendance import policy as attendance_policy
from bot.services.centres import centres
from bot.services.messaging import outbox
from bot.services.people import invites, people
from bot.services.reminders import rules as reminder_rules
from tests.conftest import make_settings
from tests.sandbox_support import STOCKHOLM, working_morning

AMINA, ERIK, JOHAN, MARIA = (actor.telegram_id for actor in SANDBOX.actors)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    sandbox = Sandbox(make_settings("sqlite://"), data_dir=tmp_path / "data", port=0,
                      start_at=working_morning())
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


async def _api(sandbox: Sandbox, method: str, path: str, body: Any = None) -> Any:
    async with aiohttp.ClientSession() as client, client.request(
            method, f"{sandbox.url.rstrip('/')}{path}", json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def _until(sandbox: Sandbox, condition: Callable[[], bool], timeout: float = 10) -> None:
    """Wait for the bot (a real poller) to have answered; fails after ``timeout``."""
    assert sandbox.emulator is not None
    async with asyncio.timeout(timeout):
        while not condition():
            await sandbox.emulator.wait_for_change(0.5)


def _bot_texts(sandbox: Sandbox, chat_id: int) -> list[str]:
    assert sandbox.emulator is not None
    return [m.get("text") or m.get("caption") or "" for m in sandbox.emulator.bot_messages(chat_id)]


async def test_seed_sets_up_a_job_centre_staff_sessions_and_invites(sandbox: Sandbox) -> None:
    assert sandbox.runtime is not None and sandbox.seeded is not None
    now = sandbox.clock.now()
    with unit_of_work(sandbox.runtime.sessions) as db:
        centre = centres.by_name(db, "Jobbtorg Kista")
        assert centre is not None and centre.address.startswith("Kistagången")
        assert (centre.latitude, centre.longitude) == (59.4032, 17.9448)
        coach = people.by_telegram_id(db, JOHAN)
        admin = people.by_telegram_id(db, MARIA)
        assert coach is not None and coach.has_role(Role.COACH)
        assert admin is not None and admin.has_role(Role.ADMIN)
        assert people.coaches_at(db, centre.id) == [coach]
        # The example configuration's schedule: Swedish sessions at 10:00 on the working
        # days of the coming weeks, and Arabic ones on Wednesdays at 13:30.
        sessions = list(db.scalars(select(InfoSession).order_by(InfoSession.starts_at)))
        assert len(sessions) >= 10
        for session in sessions:
            local = session.starts_at.astimezone(STOCKHOLM)
            assert (local.time(), session.language) in ((time(10, 0), "sv"), (time(13, 30), "ar"))
            assert local.weekday() < 5 and session.starts_at > now
        phones = {phone.key: phone for phone in sandbox.seeded.phones}
        amina = invites.usable(db, now, phones["amina"].invite_code or "")
        erik = invites.usable(db, now, phones["erik"].invite_code or "")
        # Amina's invite offers the session of the next morning: its day-before reminder
        # is still ahead, so moving the clock a day shows it.
        assert amina.info_session_id == sessions[0].id
        assert sessions[0].starts_at - timedelta(days=1) > now
        assert erik.info_session_id is None
        assert {amina.coach_id, erik.coach_id} == {coach.id}
        assert amina.attendance_required and erik.attendance_required
        assert db.scalar(select(Invite).where(Invite.used_at.is_(None), Invite.role != Role.ASPIRANT)) is None
        # The reminder engine's default rules, and the centre's attendance policy.
        defaults = reminder_rules.default_rules()
        rules = reminder_rules.listed(db, centre.id)
        assert len(rules) == len(defaults)
        assert all(reminder_rules.spec_of(rule) in defaults for rule in rules)
        assert db.scalar(select(AttendancePolicy).where(
            AttendancePolicy.job_centre_id == centre.id)) is not None
    assert sandbox.emulator is not None
    assert {uid: user["language_code"] for uid, user in sandbox.emulator.users.items()} == {
        AMINA: "ar", ERIK: "sv", JOHAN: "sv", MARIA: "en"}


async def test_page_shows_phones_and_the_bot_answers_through_it(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.get(sandbox.url) as response:
            assert response.status == 200
            assert '<script src="/static/app.js">' in await response.text()
        for name in ("app.js", "style.css"):
            async with client.get(f"{sandbox.url}static/{name}") as response:
                assert response.status == 200
        async with client.get(f"{sandbox.url}static/..%2Fseed.py") as response:
            assert response.status == 404
    state = await _api(sandbox, "GET", "/api/state")
    phones = {phone["key"]: phone for phone in state["phones"]}
    assert [phones[k]["role"] for k in ("amina", "erik", "johan", "maria")] == [
        "aspirant", "aspirant", "coach", "admin"]
    assert phones["amina"]["dir"] == "rtl" and phones["erik"]["dir"] == "ltr"
    assert phones["amina"]["invite_link"].startswith("https://t.me/jobbot_sandbox_bot?start=")
    assert phones["johan"]["invite_link"] is None
    assert state["now"]["label"].endswith("08:00")
    # The code on the screen at the centre's door is the one the bot accepts now.
    assert sandbox.runtime is not None and sandbox.seeded is not None
    with unit_of_work(sandbox.runtime.sessions) as db:
        now = sandbox.clock.now()
        policy = attendance_policy.policy_for(db, now, sandbox.seeded.centre_id)
        assert checkin_codes.check(policy, state["checkin"]["code"], now) == (
            checkin_codes.CodeCheck.VALID)
    # Staff phones open the bot once at start; the coach's answer is in Swedish.
    await _until(sandbox, lambda: bool(_bot_texts(sandbox, JOHAN)))
    assert "Det här kan du göra" in _bot_texts(sandbox, JOHAN)[-1]

    await _api(sandbox, "POST", "/api/phones/amina/invite")
    await _until(sandbox, lambda: bool(_bot_texts(sandbox, AMINA)))
    state = await _api(sandbox, "GET", "/api/state")
    amina = next(p for p in state["phones"] if p["key"] == "amina")
    picker = amina["messages"][-1]
    assert picker["bot"] and "✓ العربية" in str(picker["reply_markup"])
    arabic = next(b for row in picker["reply_markup"]["inline_keyboard"] for b in row
                  if "العربية" in b["text"])
    await _api(sandbox, "POST", "/api/phones/amina/press",
               {"message_id": picker["id"], "data": arabic["callback_data"]})
    await _until(sandbox, lambda: len(_bot_texts(sandbox, AMINA)) >= 2)

    async with aiohttp.ClientSession() as client:
        async with client.post(f"{sandbox.url}api/phones/nobody/text", json={"text": "hi"}) as r:
            assert r.status == 404
        async with client.post(f"{sandbox.url}api/phones/johan/invite", json={}) as r:
            assert r.status == 400
        async with client.post(f"{sandbox.url}api/time", json={"move": "back"}) as r:
            assert r.status == 400


async def test_moving_time_moves_the_bots_clock_and_runs_the_due_work(sandbox: Sandbox) -> None:
    assert sandbox.runtime is not None and sandbox.application is not None
    start = sandbox.runtime.clock.now()
    with unit_of_work(sandbox.runtime.sessions) as db:
        coach = people.by_telegram_id(db, JOHAN)
        assert coach is not None
        outbox.enqueue(db, start, coach,
                       "{name} has joined through your invite and agreed to the terms.",
                       kind="coach_notice", params={"name": "Later"},
                       due_at=start + timedelta(minutes=40))
    # Jobs registered the way scheduler/jobs.py does run when sandbox time passes them.
    ran: list[tuple[str, datetime]] = []

    def job(name: str):  # type: ignore[no-untyped-def]
        async def callback(context: object) -> None:
            ran.append((name, sandbox.clock.now()))
        return callback

    local_start = start.astimezone(STOCKHOLM)
    queue = sandbox.application.job_queue
    assert queue is not None
    queue.run_daily(job("in the hour"), (local_start + timedelta(minutes=30)).timetz())
    queue.run_daily(job("later today"), (local_start + timedelta(hours=3)).timetz())
    queue.run_repeating(job("every 5 minutes"), interval=300, first=300)

    state = await _api(sandbox, "POST", "/api/time", {"move": "hour"})

    now = sandbox.runtime.clock.now()
    assert timedelta(hours=1) <= now - start < timedelta(hours=1, seconds=30)
    assert abs(datetime.now(UTC) - (now - sandbox.clock.offset)) < timedelta(seconds=5)
    assert state["now"]["label"].endswith("09:00")
    await _until(sandbox, lambda: any("Later" in t for t in _bot_texts(sandbox, JOHAN)))
    names = [name for name, _ in ran]
    assert names.count("in the hour") == 1 and "later today" not in names
    # Run in 15-minute steps: the daily job at :30 ran at the step that passed it.
    moment = next(at for name, at in ran if name == "in the hour")
    assert timedelta(minutes=30) <= moment - start < timedelta(minutes=46)
    assert names.count("every 5 minutes") == 4

    state = await _api(sandbox, "POST", "/api/time", {"move": "morning"})
    local = sandbox.clock.now().astimezone(STOCKHOLM)
    assert (local.date() - local_start.date(), local.hour, local.minute) == (timedelta(days=1), 9, 0)
    assert "later today" in [name for name, _ in ran]


def test_cli_knows_the_sandbox_command() -> None:
    args = build_parser().parse_args(["sandbox", "--port", "9000", "--start-at",
                                      "2030-01-07T08:00"])
    assert (args.port, args.keep, str(args.data_dir)) == (9000, False, "sandbox-data")
    assert args.start_at == datetime(2030, 1, 7, 8, 0)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sandbox", "--port", "70000"])


async def test_keep_reuses_data_and_clock(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Sandbox(make_settings("sqlite://"), data_dir=data, port=0, start_at=working_morning())
    await first.start()
    try:
        await first.view.time_control.advance(timedelta(hours=2))  # type: ignore[union-attr]
        moved_to = first.clock.now()
        assert first.runtime is not None
        with unit_of_work(first.runtime.sessions) as db:
            seeded_sessions = len(list(db.scalars(select(InfoSession))))
    finally:
        await first.stop()
    second = Sandbox(make_settings("sqlite://"), data_dir=data, port=0, keep=True)
    await second.start()
    try:
        assert second.clock.now() >= moved_to
        assert second.runtime is not None
        with unit_of_work(second.runtime.sessions) as db:
            assert len(centres.active(db)) == 1
            assert len(list(db.scalars(select(InfoSession)))) == seeded_sessions
    finally:
        await second.stop()
