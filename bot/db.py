"""Engine and session factory, units of work off the event loop, and migrations (Alembic).

The database drivers are synchronous. Code on the event loop never runs a statement
itself: it hands a short unit of work to ``DatabaseRunner.run``, which runs it in a
worker thread and commits it there, so a lock wait or a slow disk never stops the loop
that answers other people. Telegram is called only after the unit has committed
("decide, commit, then talk").
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import resources
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    # Statement parameters hold names and free texts: keep them out of errors and logs.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # BEGIN is emitted as the dialect's own step (not from a "begin" event listener):
        # SQLAlchemy handles a failure there, whereas a listener that raises (a read-only
        # or full disk refusing BEGIN IMMEDIATE) leaves the pooled connection unable to
        # begin again once the disk is back. The dialect instance belongs to this engine.
        engine.dialect.do_begin = _sqlite_begin  # type: ignore[method-assign]
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from pysqlite, which would otherwise commit
    # silently around SAVEPOINTs; SQLAlchemy then emits BEGIN itself (_sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the bot, the scheduler and a CLI command use one file at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL is durable against application crashes and much faster to commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(dbapi_connection: Any) -> None:
    # The bot's units of work (on the runner's one thread) take the write lock when they
    # begin: a unit that read first and wrote later could otherwise find that another
    # process (a command-line import, say) wrote in between, and fail instead of waiting.
    # Elsewhere (the command line, tests) transactions stay deferred.
    immediate = getattr(_runner_thread, "active", False)
    dbapi_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


_open_units = threading.local()
# Set on the DatabaseRunner's worker threads.
_runner_thread = threading.local()


def _mark_runner_thread() -> None:
    _runner_thread.active = True


def in_unit_of_work() -> bool:
    """Whether this thread is inside a unit of work (tests assert Telegram is not called so)."""
    return getattr(_open_units, "depth", 0) > 0


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction: committed if the block succeeds, rolled back if it raises."""
    session = factory()
    _open_units.depth = getattr(_open_units, "depth", 0) + 1
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _open_units.depth -= 1
        session.close()


T = TypeVar("T")

# PostgreSQL: units of work that may run at once in one process (each holds a connection).
POSTGRES_WORKERS = 8


class DatabaseRunner:
    """Runs units of work in worker threads, so the event loop never waits on the database.

    SQLite allows one writer at a time: one worker thread serialises this process's units
    (in the order they were asked for) instead of letting threads wait on the file lock.
    PostgreSQL runs ``POSTGRES_WORKERS`` at once; row locks order what must be ordered.
    """

    def __init__(self, sessions: sessionmaker[Session], *, workers: int | None = None) -> None:
        self.sessions = sessions
        bind = sessions.kw.get("bind")
        self.dialect = bind.dialect.name if bind is not None else "sqlite"
        if workers is None:
            workers = 1 if self.dialect == "sqlite" else POSTGRES_WORKERS
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db",
                                            initializer=_mark_runner_thread)

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work(db)`` in one committed unit of work, in a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._unit, work)

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker thread; it opens its own units of work."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def _unit(self, work: Callable[[Session], T]) -> T:
        with unit_of_work(self.sessions) as db:
            return work(db)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("bot") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def current_revisions(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions(url: str) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
