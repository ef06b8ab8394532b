"""Fixtures: an injected clock, a migrated database (SQLite, and PostgreSQL when
``JOBBOT_TEST_POSTGRES_URL`` is set), and the offline bot harness."""

from __future__ import annotations

import os
import shutil
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import ManualClock
from bot.db import make_engine, make_session_factory, unit_of_work, upgrade
from bot.models import Base
from bot.runtime import Runtime
from bot.settings import Settings
from tests.harness import BotHarness, start_harness

STOCKHOLM = ZoneInfo("Europe/Stockholm")

# The fuzz tests explore new inputs on every local run; CI (JOBBOT_HYPOTHESIS_PROFILE=ci)
# runs the same ones each time, so a landing never depends on a lucky draw. What a local
# run finds is kept as an @example.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("JOBBOT_HYPOTHESIS_PROFILE", "default"))
POSTGRES_URL = os.environ.get("JOBBOT_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("JOBBOT_REQUIRE_POSTGRES") == "1"


def local(*args: int) -> datetime:
    """A Stockholm wall-clock time as an aware datetime."""
    return datetime(*args, tzinfo=STOCKHOLM)  # type: ignore[misc]


@pytest.fixture
def clock() -> ManualClock:
    # A Monday morning in an ordinary week.
    return ManualClock(local(2026, 3, 2, 8, 0))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@contextmanager
def new_postgres_database(prefix: str) -> Iterator[str]:
    """A migrated database of its own on the test server, dropped afterwards, so parallel
    runs never meet. Skips (or, in CI, fails) when no server is configured."""
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("JOBBOT_REQUIRE_POSTGRES=1 but JOBBOT_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL not configured (set JOBBOT_TEST_POSTGRES_URL)")
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        _drop_database(server, name)
        server.dispose()


def _drop_database(server: Engine, name: str) -> None:
    # WITH (FORCE) ends the database's sessions, but a role that is not a superuser may not
    # end an autovacuum worker busy in it after a bulk test: wait for the worker to finish.
    for attempt in range(40):
        try:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError as error:
            if attempt == 39:
                warnings.warn(f"test database {name} left behind: {error.orig}", stacklevel=2)
                return
            time.sleep(0.25)


@pytest.fixture(scope="session")
def postgres_migrated() -> Iterator[str]:
    with new_postgres_database("jobbot_test") as url:
        yield url


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A freshly migrated, empty database; each test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "jobbot.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_migrated")
    engine = make_engine(url)
    _truncate_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No JOBBOT_ setting from the machine running the tests (its own JOBBOT_TEST_ ones
    stay), and the test's own directory as the working one, where a .env would be read."""
    for key in list(os.environ):
        if key.startswith("JOBBOT_") and not key.startswith("JOBBOT_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "jobbot.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with unit_of_work(sessions) as session:
        yield session


def make_settings(database_url: str, **overrides: object) -> Settings:
    return Settings(_env_file=None, database_url=database_url,  # type: ignore[call-arg]
                    telegram_token="123456:emulated", **overrides)


@pytest.fixture
async def harness(sqlite_url: str, clock: ManualClock) -> AsyncIterator[BotHarness]:
    """The bot on SQLite, driven offline through process_update."""
    engine = make_engine(sqlite_url)
    runtime = Runtime(settings=make_settings(sqlite_url), clock=clock,
                      sessions=make_session_factory(engine))
    harness, application = await start_harness(runtime, clock)
    yield harness
    await application.shutdown()
    # Telegram would have refused these: too long, too many buttons, bad callback data...
    refused = [(c.method, c.status) for c in harness.emulator.calls if c.status == 400]
    assert refused == [], f"the Bot API refused calls: {refused}"
    # Every button is built by the typed callback module, so its handlers can read it.
    untyped = harness.untyped_buttons()
    assert untyped == [], f"buttons with data no callback kind decodes: {untyped}"
    # Decide, commit, then talk: no Telegram call while a unit of work was open.
    assert harness.request.calls_in_transaction == []
    engine.dispose()
