"""Two bot processes in webhook mode serve one bot from one PostgreSQL database.

Telegram lets only one process long-poll a bot, so several instances need webhook
mode: Telegram posts each update to one public URL and a load balancer passes it
to one of the instances. Here the emulator plays Telegram and, through
``emulator.webhook_targets``, the load balancer: it posts the updates to the two
instances in turn. Each aspirant's onboarding then has its consecutive steps
handled by different processes, which only works because the conversation state
is in the database; each coach notice is sent once although both processes run
the outbox dispatcher on that database.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import SystemClock
from bot.db import make_engine, make_session_factory, unit_of_work
from bot.emulator import BotApiEmulator
from bot.i18n import translator
from bot.models import Booking, BookingStatus, OutboxMessage, Person, Role
from bot.services.system import conversations
from tests import factories
from tests.conftest import new_postgres_database
from tests.e2e.conftest import (
    _BOT_LOG_KEY,
    STARTUP_TIMEOUT,
    STOP_TIMEOUT,
    Driver,
    Seed,
    _next_weekday_morning,
    launch_bot,
)

pytestmark = pytest.mark.e2e

PUBLIC_URL = "https://jobbot.example.org/telegram/webhook"  # what Telegram is told
WEBHOOK_PATH = "/telegram/webhook"  # the instances listen on the public URL's path
SECRET = "e2e-webhook-secret_0123"
SESSION_BUTTON = re.compile(r"^ob:s:\d+$")
# An odd number: with the load balancer's turns, each aspirant's next step in a round
# goes to the other instance.
ASPIRANTS = (("Amina", "ar"), ("Erik", "sv"), ("Hodan", "so"))


@dataclass
class Seeded:
    database_url: str
    sessions: sessionmaker[Session]
    coach_id: int
    coach_chat: int
    session_id: int
    codes: list[str]

    def query(self, read: Callable[[Session], Any]) -> Any:
        with unit_of_work(self.sessions) as db:
            return read(db)


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own (SQLite is for one instance)."""
    with new_postgres_database("jobbot_e2e") as url:
        yield url


@pytest.fixture
async def seeded(fresh_postgres: str, emulated_api: tuple[BotApiEmulator, str]
                 ) -> AsyncIterator[Seeded]:
    """A job centre, its coach (an emulator user), an upcoming session and an invite for
    each aspirant."""
    emulator, _url = emulated_api
    coach_user = emulator.add_user("Karin", "sv")
    now = SystemClock().now()
    engine = make_engine(fresh_postgres)
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as db:
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, Role.COACH, centre, name="Karin", language="sv",
                                telegram_user_id=coach_user["id"])
        session = factories.session(db, now, centre,
                                    _next_weekday_morning(now + timedelta(days=2)))
        codes = [factories.aspirant_invite(db, now, centre, coach, session).code
                 for _aspirant in ASPIRANTS]
        seed = Seeded(fresh_postgres, sessions, coach.id, coach_user["id"], session.id, codes)
    yield seed
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _listening(port: int, driver: Driver) -> None:
    """Wait (bounded) until the instance's webhook server accepts connections: it starts
    listening just after it has set the webhook."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if not driver.bot.running or time.monotonic() > deadline:
                raise AssertionError(f"no webhook server on port {port}") from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            await writer.wait_closed()
            return


def _step(seed: Seeded, chat_id: int) -> str | None:
    """The onboarding step committed for the chat ("done" once the aspirant is booked)."""
    def read(db: Session) -> str | None:
        state = conversations.current(db, SystemClock().now(), chat_id, chat_id)
        if state is not None:
            return state.step
        person = db.scalar(select(Person).where(Person.telegram_user_id == chat_id))
        booked = person is not None and db.scalar(
            select(Booking.status).where(Booking.aspirant_id == person.id))
        return "done" if booked == BookingStatus.BOOKED else None
    return seed.query(read)


def _coach_outbox(seed: Seeded) -> list[str]:
    return seed.query(lambda db: [row.status.value for row in db.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient_id == seed.coach_id))])


@pytest.mark.postgres
async def test_two_webhook_instances_serve_one_bot(
        request: pytest.FixtureRequest, tmp_path: Path,
        emulated_api: tuple[BotApiEmulator, str], seeded: Seeded) -> None:
    emulator, api_url = emulated_api
    ports = [_free_port(), _free_port()]
    # The test's load balancer: each update goes to the next instance in turn.
    emulator.webhook_targets = [f"http://127.0.0.1:{port}{WEBHOOK_PATH}" for port in ports]
    log = tmp_path / "bots-output.log"  # both instances, so a failure shows both
    request.node.stash[_BOT_LOG_KEY] = log

    drivers: list[Driver] = []
    try:
        for port in ports:
            drivers.append(await launch_bot(
                emulator, api_url, seeded.database_url, cwd=tmp_path, log=log,
                ready="setWebhook",
                extra_env={"JOBBOT_WEBHOOK_URL": PUBLIC_URL, "JOBBOT_WEBHOOK_PORT": str(port),
                           "JOBBOT_WEBHOOK_LISTEN": "127.0.0.1",
                           "JOBBOT_WEBHOOK_SECRET": SECRET}))
        for port, driver in zip(ports, drivers, strict=True):
            await _listening(port, driver)
        assert emulator.webhook is not None and emulator.webhook.url == PUBLIC_URL

        await _onboard_side_by_side(emulator, drivers, seeded)

        # An instance takes no post without Telegram's secret.
        async with aiohttp.ClientSession() as http, http.post(
                emulator.webhook_targets[0], json={"update_id": 999}) as response:
            assert response.status == 403

        codes = await asyncio.gather(*(d.bot.stop(signal.SIGTERM) for d in drivers))
    finally:
        for driver in drivers:
            if driver.bot.running:
                driver.bot.process.kill()
                await driver.bot.process.wait()
    output = log.read_text(errors="replace")
    assert codes == [0, 0], output
    assert "Traceback" not in output
    assert not any(name in output for name, _language in ASPIRANTS)  # no names logged


async def _onboard_side_by_side(emulator: BotApiEmulator, drivers: list[Driver],
                                seed: Seeded) -> None:
    """The aspirants onboard side by side, one step each per round. The consents of one
    round reach both instances at once, so both wake their dispatchers while the coach's
    notices are due."""
    first = drivers[0]
    chats = {emulator.add_user(name, language)["id"]: language for name, language in ASPIRANTS}
    updates: dict[int, list[int]] = {chat: [] for chat in chats}

    def both_running() -> None:
        for driver in drivers:
            if not driver.bot.running:
                raise AssertionError(f"an instance exited ({driver.bot.process.returncode})")

    async def wait_for(what: str, probe: Callable[[], Any]) -> Any:
        return await first.wait_for(what, lambda: both_running() or probe())

    async def buttons(what: str, match: Callable[[str, str], bool]
                      ) -> dict[int, tuple[dict, dict]]:
        """Each chat's newest message with a button matching (data, the chat's language)."""
        def probe() -> dict[int, tuple[dict, dict]] | None:
            found = {chat: first.message_with_button(chat, partial(match, language=language))
                     for chat, language in chats.items()}
            return found if all(found.values()) else None  # type: ignore[return-value]
        return await wait_for(what, probe)

    async def committed(step: str) -> None:
        # A handler commits just after its last reply. A person cannot press a button in
        # that moment, but the test can, and the press may go to the other instance: so,
        # like a person, it waits until the step is really over.
        await wait_for(f"the step {step!r} in the database",
                       lambda: all(_step(seed, chat) == step for chat in chats))

    def press_all(offers: dict[int, tuple[dict, dict]]) -> None:
        for chat, (message, button) in offers.items():
            update = emulator.user_presses(chat, message["message_id"], button["callback_data"])
            updates[chat].append(update["update_id"])

    for chat, code in zip(chats, seed.codes, strict=True):
        updates[chat].append(emulator.user_sends_text(chat, f"/start {code}")["update_id"])
    pickers = await buttons("the language pickers",
                            lambda data, language: data == f"ob:l:{language}")
    await committed("language")
    press_all(pickers)

    consents = await buttons("the consent texts", lambda data, language: data == "ob:c:y")
    await committed("consent")
    press_all(consents)

    offers = await buttons("the session offers",
                           lambda data, language: bool(SESSION_BUTTON.match(data)))
    assert {b["callback_data"] for _m, b in offers.values()} == {f"ob:s:{seed.session_id}"}
    await committed("session")
    press_all(offers)
    await committed("done")

    # Each update went to one instance; each aspirant's steps alternated between them.
    assert all(attempt.ok for attempt in emulator.webhook_attempts)
    delivered = emulator.deliveries()
    for ids in updates.values():
        steps = [delivered[update_id] for update_id in ids]
        assert len(steps) == 4 and all(a != b for a, b in pairwise(steps)), steps
    assert set(delivered.values()) == set(emulator.webhook_targets or [])

    # Each "has joined" notice reaches the coach once, though both instances dispatch.
    await wait_for("the coach's notices to be sent",
                   lambda: _coach_outbox(seed) == ["sent"] * len(chats))
    expected = sorted(translator("sv")._(
        "{name} has joined through your invite and agreed to the terms.", name=name)
        for name, _language in ASPIRANTS)
    received = sorted(m.get("text", "") for m in first.bot_messages(seed.coach_chat))
    assert received == expected
    coach_sends = [c for c in emulator.calls
                   if c.method == "sendMessage" and c.params.get("chat_id") == seed.coach_chat]
    assert len(coach_sends) == len(chats)

    # getUpdates is refused while the webhook is set, as by Telegram.
    status, body = emulator.call("getUpdates", {})
    assert status == 409 and "webhook is active" in body["description"]


async def test_a_busy_webhook_port_is_one_line(
        request: pytest.FixtureRequest, tmp_path: Path,
        emulated_api: tuple[BotApiEmulator, str], seed: Seed) -> None:
    emulator, api_url = emulated_api
    log = tmp_path / "bot-output.log"
    request.node.stash[_BOT_LOG_KEY] = log
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        driver = await launch_bot(
            emulator, api_url, seed.database_url, cwd=tmp_path, log=log, ready="setWebhook",
            extra_env={"JOBBOT_WEBHOOK_URL": PUBLIC_URL, "JOBBOT_WEBHOOK_PORT": str(port),
                       "JOBBOT_WEBHOOK_SECRET": SECRET})
        code = await asyncio.wait_for(driver.bot.process.wait(), STOP_TIMEOUT)
    assert code == 1
    assert driver.bot.output().strip().splitlines()[-1] == (
        f"jobbot: error: cannot listen for the webhook on 127.0.0.1:{port} "
        "(JOBBOT_WEBHOOK_LISTEN, JOBBOT_WEBHOOK_PORT): Address already in use")
