"""/healthz, /readyz and /metrics: the process is up; ready means the database answers, its
schema is current and the dispatcher is alive; metrics count the outbox at scrape time,
with no personal data in any label. /readyz turns unhealthy when the database server is
stopped and healthy again when it is back (a PostgreSQL server of the test's own)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import metrics
from bot.clock import ManualClock
from bot.db import head_revisions, make_engine, make_session_factory, upgrade
from bot.runtime import Runtime
from bot.web.app import make_app
from tests.conftest import local, make_settings
from tests.reminder_support import book, cast, session_at
from tests.sandbox_support import free_port

REQUIRE_POSTGRES = os.environ.get("JOBBOT_REQUIRE_POSTGRES") == "1"


async def _get(client: TestClient, path: str) -> tuple[int, dict | str]:
    async with client.get(path) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


def _client(runtime: Runtime, **options) -> TestClient:
    heads = options.pop("heads", None) or head_revisions(runtime.settings.database_url)
    return TestClient(TestServer(make_app(runtime, heads=heads, **options)))


async def test_healthz_answers_while_the_process_runs(harness):
    async with _client(harness.runtime) as client:
        assert await _get(client, "/healthz") == (200, {"status": "ok"})


async def test_ready_needs_a_recent_dispatcher_heartbeat(harness):
    metrics.DISPATCHER_HEARTBEAT.set(0)  # this process's dispatcher has not run yet
    later = {"seconds": 0.0}
    async with _client(harness.runtime,
                       wall_clock=lambda: time.time() + later["seconds"]) as client:
        status, body = await _get(client, "/readyz")
        assert status == 503
        assert body["checks"] == {"database": "ok", "migrations": "ok",
                                  "dispatcher": "no heartbeat yet"}
        await harness.dispatch()  # one look for due messages
        status, body = await _get(client, "/readyz")
        assert (status, body["status"]) == (200, "ready")
        later["seconds"] = 121  # two minutes without the dispatcher looking
        status, body = await _get(client, "/readyz")
        assert status == 503
        assert re.fullmatch(r"last heartbeat 12\d s ago", body["checks"]["dispatcher"])


async def test_not_ready_when_the_schema_is_behind_the_code(harness):
    await harness.dispatch()
    async with _client(harness.runtime, heads={"9999"}) as client:
        status, body = await _get(client, "/readyz")
    assert status == 503
    assert body["checks"]["migrations"].endswith("code at 9999: run 'jobbot db upgrade'")


async def test_metrics_count_the_outbox_without_personal_data(harness):
    people = cast(harness, ("Amina", "ar"))
    now = harness.clock.now()
    with harness.db() as db:
        from bot.models import Person

        session = session_at(db, now, people.world, local(2026, 3, 3, 10, 0))
        book(db, now, db.get(Person, people.ids["Amina"]), session)
    await harness.dispatch()  # what is due now (the coach hears Amina joined) goes out
    # The day-before reminder fell due 90 seconds ago and has not been sent yet.
    harness.clock.set(local(2026, 3, 2, 10, 1, 30))
    await people.aspirants["Amina"].send("hello")  # an update handled, counted by kind
    async with _client(harness.runtime) as client:
        status, body = await _get(client, "/metrics")
    assert status == 200
    assert 'jobbot_outbox_messages{state="pending"}' in body
    assert re.search(r"jobbot_outbox_messages{state=\"sent\"} [1-9]", body)
    assert "jobbot_outbox_oldest_due_seconds 90.0" in body
    assert "jobbot_database_up 1.0" in body
    assert 'jobbot_updates_total{kind="message"}' in body
    assert "jobbot_update_seconds_bucket" in body and "jobbot_dispatcher_heartbeat_seconds" \
        in body
    assert "jobbot_sends_total" in body or "# HELP jobbot_sends_total" in body
    # Labels are closed vocabularies: no names, no Telegram ids.
    labels = set(re.findall(r"\{([^}]*)\}", body))
    assert all(re.fullmatch(r'(\w+="[a-z_0-9.+Inf]*",?)+', label) for label in labels), labels
    assert "Amina" not in body and str(people.aspirants["Amina"].id) not in body


# --- a database server that the test stops and starts -----------------------------------------
def _postgres_bin() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                      key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)])
    return versions[-1].parent if versions else None


class PrivateServer:
    """A PostgreSQL server of this test's own, in a temporary directory (stopped at will)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="jobbot-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        # PostgreSQL refuses to run as root: as root, run it as the postgres user.
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "jobbot", "-E", "UTF8",
                  "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://jobbot@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bin / tool), *args], check=True, cwd="/",
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivateServer]:
    bin_dir = _postgres_bin()
    if bin_dir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        if REQUIRE_POSTGRES:
            pytest.fail("no PostgreSQL server binaries to start a private server with")
        pytest.skip("PostgreSQL server binaries not installed")
    server = PrivateServer(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.mark.postgres
async def test_readyz_follows_the_database_going_down_and_coming_back(private_postgres):
    upgrade(private_postgres.url)
    engine = make_engine(private_postgres.url)
    runtime = Runtime(settings=make_settings(private_postgres.url),
                      clock=ManualClock(local(2026, 3, 2, 8, 0)),
                      sessions=make_session_factory(engine))
    metrics.beat()
    try:
        async with _client(runtime) as client:
            status, body = await _get(client, "/readyz")
            assert (status, body["status"]) == (200, "ready")

            private_postgres.stop()
            status, body = await _get(client, "/readyz")
            assert status == 503
            assert body["checks"]["database"].startswith("unreachable (")
            assert body["checks"]["migrations"] == "unknown"
            # The process itself is fine, and metrics still answer, saying the database is not.
            assert (await _get(client, "/healthz"))[0] == 200
            status, text = await _get(client, "/metrics")
            assert status == 200 and "jobbot_database_up 0.0" in text

            private_postgres.start()
            metrics.beat()
            status, body = await _get(client, "/readyz")
            assert (status, body["status"]) == (200, "ready"), body
    finally:
        runtime.database.shutdown()
        engine.dispose()
