"""Engine and session factory, units of work off the event loop, and migrations (Alembic).

The database drivers are synchronous. Code on the event loop never runs a statement
itself: it hands a short unit of work to ``DatabaseRunner.run``, which runs it in a
worker thread and commits it there, so a lock wait or a slow disk never stops the loop
that answers other people. Telegram is called only after the unit has committed
("decide, commit, then talk").
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import resources
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

# PostgreSQL: units of work that may run at once in one process (each holds a connection).
POSTGRES_WORKERS = 8


def make_engine(url: str, *, ping_after_idle: float | None = None, **kwargs: Any) -> Engine:
    """``ping_after_idle`` (PostgreSQL): seconds a pooled connection may rest before it is
    tried on lending (default ``PING_AFTER_IDLE_SECONDS``)."""
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
        # Savepoints straight to the driver: every grouped unit of work takes one, and
        # SQLAlchemy would compile the SAVEPOINT and RELEASE statements anew each time.
        engine.dialect.do_savepoint = _sqlite_savepoint  # type: ignore[method-assign]
        engine.dialect.do_release_savepoint = _sqlite_release  # type: ignore[method-assign]
        return engine
    # Enough pooled connections for every worker thread and a few more (the console, a
    # command): with fewer, the pool closes what it lends beyond its size on return, and
    # the workers connect anew all the time.
    kwargs.setdefault("pool_size", POSTGRES_WORKERS + 4)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _note_returned)
    event.listen(engine, "checkin", _note_returned)
    idle = PING_AFTER_IDLE_SECONDS if ping_after_idle is None else ping_after_idle
    event.listen(engine, "checkout", functools.partial(_ping_if_idle, engine.dialect, idle))
    return engine


# A pooled connection idle longer than this is tried before it is lent (the database may
# have restarted since). One used moments ago is not: the ping is a round trip, a sixth of
# a check-in's, and a restart within the window fails only the units that were under way.
PING_AFTER_IDLE_SECONDS = 2.0
_RETURNED_AT = "jobbot_returned_at"


def _note_returned(_dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED_AT] = time.monotonic()


def _ping_if_idle(dialect: Any, idle: float, dbapi_connection: Any, record: Any,
                  _proxy: Any) -> None:
    returned = record.info.get(_RETURNED_AT)
    if returned is not None and time.monotonic() - returned < idle:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        # The pool drops this connection and lends a new one instead.
        raise DisconnectionError("the database closed the pooled connection") from error


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


def _sqlite_savepoint(connection: Any, name: str) -> None:
    connection.connection.dbapi_connection.execute(f'SAVEPOINT "{name}"')


def _sqlite_release(connection: Any, name: str) -> None:
    connection.connection.dbapi_connection.execute(f'RELEASE SAVEPOINT "{name}"')


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
def _counted() -> Iterator[None]:
    """Marks this thread as inside a unit of work (``in_unit_of_work``) for the block."""
    _open_units.depth = getattr(_open_units, "depth", 0) + 1
    try:
        yield
    finally:
        _open_units.depth -= 1


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction: committed if the block succeeds, rolled back if it raises."""
    session = factory()
    try:
        with _counted():
            yield session
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


T = TypeVar("T")

# SQLite: units committed together at most (a failed COMMIT fails this many at once).
MAX_GROUP = 16


class _Outcome(NamedTuple):
    ok: bool
    value: Any  # the unit's result, or the exception it (or its group's commit) raised


class _Waiting(NamedTuple):
    work: Callable[[Session], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    alone: bool


class _GroupLost(Exception):
    """The database rolled the group's transaction back under a unit."""

    def __init__(self, outcome: _Outcome) -> None:
        super().__init__("the database rolled the transaction back")
        self.outcome = outcome


_Settled = tuple[asyncio.Future[Any], _Outcome]


def _settle_all(settled: list[_Settled]) -> None:
    for future, outcome in settled:
        if future.cancelled():
            continue
        if outcome.ok:
            future.set_result(outcome.value)
        else:
            future.set_exception(outcome.value)


class DatabaseRunner:
    """Runs units of work in worker threads, so the event loop never waits on the database.

    SQLite allows one writer at a time: one worker thread serialises this process's units
    (in the order they were asked for) instead of letting threads wait on the file lock.
    There, units asked for while others ran are committed as a group ("group commit"):
    one transaction, each unit in a savepoint of its own with its own session, so a unit
    that fails is undone alone and none is answered before the group's commit. BEGIN and
    COMMIT, the costliest statements of a check-in, are then paid once per group.
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
        # Group commit where one thread writes; units waiting their turn, in order.
        self._grouped = self.dialect == "sqlite" and workers == 1
        self._waiting: collections.deque[_Waiting] = collections.deque()
        self._waiting_lock = threading.Lock()
        self._draining = False

    async def run(self, work: Callable[[Session], T], *, alone: bool = False) -> T:
        """``work(db)`` in one committed unit of work, in a worker thread. ``alone``: a
        long unit (a chunk of re-planning, the day's attendance step) commits by itself,
        so the people whose units would share its group do not wait for it."""
        loop = asyncio.get_running_loop()
        if not self._grouped:
            return await loop.run_in_executor(self._executor, self._unit, work)
        future: asyncio.Future[T] = loop.create_future()
        with self._waiting_lock:
            self._waiting.append(_Waiting(work, future, loop, alone))
            start = not self._draining
            self._draining = True
        if start:
            self._executor.submit(self._drain)
        return await future

    def _drain(self) -> None:
        """On the worker thread: commit what is waiting, a group at a time, until none is."""
        while True:
            with self._waiting_lock:
                group = self._next_group()
                if not group:
                    self._draining = False
                    return
            try:
                outcomes = self._commit_group([waiting.work for waiting in group])
            except BaseException as error:  # not an Exception: still, nobody waits forever
                outcomes = [_Outcome(False, error)] * len(group)
            # One wake-up of each event loop for the whole group (usually there is one
            # loop): waking it once per unit cost more than some units' statements.
            by_loop: dict[asyncio.AbstractEventLoop, list[_Settled]] = {}
            for waiting, outcome in zip(group, outcomes, strict=True):
                by_loop.setdefault(waiting.loop, []).append((waiting.future, outcome))
            for loop, settled in by_loop.items():
                with contextlib.suppress(RuntimeError):  # that loop has closed
                    loop.call_soon_threadsafe(_settle_all, settled)

    def _next_group(self) -> list[_Waiting]:
        """The next units in order, up to ``MAX_GROUP``; a unit asked to run alone is a
        group by itself."""
        group: list[_Waiting] = []
        while self._waiting and len(group) < MAX_GROUP:
            if self._waiting[0].alone and group:
                break
            group.append(self._waiting.popleft())
            if group[-1].alone:
                break
        return group

    def _commit_group(self, works: list[Callable[[Session], Any]]) -> list[_Outcome]:
        engine = self.sessions.kw["bind"]
        outcomes: list[_Outcome] = []
        try:
            with engine.connect() as connection, connection.begin():  # BEGIN IMMEDIATE
                raw = connection.connection.dbapi_connection
                for work in works:
                    outcome = self._unit_in_savepoint(connection, work)
                    if not raw.in_transaction:  # type: ignore[union-attr]
                        # SQLite ended the whole transaction (as it does on a full disk or
                        # an I/O error): what the units before wrote is gone as well.
                        raise _GroupLost(outcome)
                    outcomes.append(outcome)
        except _GroupLost as lost:
            cause = lost.outcome.value if not lost.outcome.ok else lost
            return [_Outcome(False, cause)] * len(works)
        except Exception as error:
            # BEGIN or COMMIT failed (a locked, read-only or full disk): nothing of the
            # group stands, so every unit in it has failed, each saying why.
            return [_Outcome(False, error)] * len(works)
        return outcomes

    def _unit_in_savepoint(self, connection: Connection, work: Callable[[Session], Any]
                           ) -> _Outcome:
        # A session of its own (its own identity map: nothing another unit of the group
        # loaded is seen stale) in a savepoint of its own: its commit releases the
        # savepoint, its rollback (a refused action undoing what it began) returns to it.
        session = self.sessions(bind=connection, join_transaction_mode="create_savepoint")
        try:
            with _counted():
                result = work(session)
                session.commit()
            return _Outcome(True, result)
        except Exception as error:
            session.rollback()
            return _Outcome(False, error)
        finally:
            session.close()

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
