"""The dispatcher under a 429 storm and a database outage, against the emulated Bot API,
and the cost of a run in statements (batches, not rows)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event, make_url, select

from bot.db import make_engine, make_session_factory, unit_of_work
from bot.emulator import BotApiEmulator, EmulatorRequest, Storm
from bot.models import OutboxMessage
from bot.transport.telegram_errors import ThrottleLog
from scheduler import outbox_run
from tests.reminder_support import Sender
from tests.test_dispatcher import _people, _queue, _statuses


async def test_a_429_storm_ends_with_every_message_sent(sessions, clock, database_url, caplog,
                                                       monkeypatch):
    people = _people(sessions, clock, 30)
    _queue(sessions, clock, people, per_person=2)
    caplog.set_level(logging.INFO)
    # A log of 429s of this test's own (the bot keeps one per process).
    monkeypatch.setattr(outbox_run, "THROTTLES", ThrottleLog(logging.getLogger("bot.transport")))
    async with Sender(sessions, clock, database_url, batch_size=20) as sender:
        sender.know(*people)
        sender.emulator.storm = Storm(0.5, retry_after=1, seed=7)
        report = await sender.run()
    struck = sender.emulator.storm.struck
    assert struck > 30  # about half of all tries were answered 429
    assert (report.sent, report.failed, report.retried, report.throttled) == (60, 0, 0, struck)
    with unit_of_work(sessions) as db:
        assert {m.attempts for m in db.scalars(select(OutboxMessage))} == {1}
    # Everyone got both messages, once each, in order.
    for person in people:
        assert sender.texts(person) == [f"Message {n} for {person.id}" for n in range(2)]
    # Each wait was at least as long as Telegram asked.
    assert len(sender.pauses) == struck and min(sender.pauses) >= 1
    # A warning with a count, not an error or a traceback per 429.
    throttled = [r for r in caplog.records if "429" in r.getMessage()]
    assert 1 <= len(throttled) <= 2 and all(r.levelno == logging.WARNING for r in throttled)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


class ReadOnlyDatabase:
    """Makes the database refuse every write from the next transaction on, as a full or
    read-only disk does: SQLite's own SQLITE_READONLY, PostgreSQL's SQLSTATE 25006."""

    def __init__(self, engine: Any) -> None:
        self.down = False
        # Runs before the BEGIN itself: a query-only SQLite connection then refuses the
        # bot's BEGIN IMMEDIATE, as a read-only disk does.
        event.listen(engine, "begin", self._begin)

    def _begin(self, connection: Any) -> None:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA query_only = {'ON' if self.down else 'OFF'}")
        elif self.down:
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")


class CountingRequest(EmulatorRequest):
    """The emulated Bot API; the database goes away after the ``breaks_after``-th send."""

    def __init__(self, emulator: BotApiEmulator, database: ReadOnlyDatabase,
                 breaks_after: int) -> None:
        super().__init__(emulator)
        self.database = database
        self.breaks_after = breaks_after
        self.sends = 0

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        answer = await super().do_request(url, method, request_data, *args, **kwargs)
        if url.endswith("/sendMessage"):
            self.sends += 1
            if self.sends == self.breaks_after:
                self.database.down = True
        return answer


async def test_a_database_outage_mid_run_stops_sending_and_loses_nothing(
        sessions, engine, clock, database_url, caplog):
    people = _people(sessions, clock, 40)
    _queue(sessions, clock, people)
    database = ReadOnlyDatabase(engine)
    emulator = BotApiEmulator()
    request = CountingRequest(emulator, database, breaks_after=12)
    seen: dict[str, int] = {}
    async with Sender(sessions, clock, database_url, emulator=emulator, request=request,
                      batch_size=10, concurrency=4) as sender:
        sender.know(*people)

        async def pause(seconds: float) -> None:
            # The dispatcher waits for the database: note how many messages had gone out,
            # and bring the database back on the third wait.
            sender.pauses.append(seconds)
            seen.setdefault("noticed", request.sends)
            if len(sender.pauses) == 3:
                seen["restored"] = request.sends
                database.down = False

        sender.runtime.pause = pause
        report = await sender.run()
    # Nothing was sent while outcomes could not be recorded.
    assert seen["restored"] == seen["noticed"] >= 12
    # Every message went out once: no duplicates, no failed rows.
    assert (report.sent, report.failed) == (40, 0)
    assert _statuses(sessions) == {"sent": 40}
    delivered = Counter(text for person in people for text in sender.texts(person))
    assert len(delivered) == 40 and set(delivered.values()) == {1}
    # The log says what the database answered.
    code = "SQLITE_READONLY" if database_url.startswith("sqlite") else "SQLSTATE 25006"
    assert code in caplog.text and "the database answers again" in caplog.text


async def test_a_run_costs_statements_per_batch_not_per_message(sessions, engine, clock,
                                                                database_url):
    people = _people(sessions, clock, 80)
    _queue(sessions, clock, people)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        async with Sender(sessions, clock, database_url, batch_size=100) as sender:
            sender.know(*people)
            report = await sender.run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert report.sent == 80
    # One claim (a few statements) and outcomes written in a handful of multi-row
    # updates: a small fraction of a statement per message (it was eight before).
    assert len(statements) < 40, Counter(statements)


class PostgresProxy:
    """A TCP relay to the PostgreSQL server that can be cut (its connections dropped, new
    ones refused, as when the server goes away) and restored: a real outage."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: asyncio.Server | None = None
        self.port = 0
        self.links: set[asyncio.StreamWriter] = set()
        self._call(self._listen())

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream = await asyncio.open_connection(*self.target)
        self.links |= {writer, upstream}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream), pipe(upstream_reader, writer))

    def cut(self) -> None:
        async def cut() -> None:
            assert self.server is not None
            self.server.close()
            for link in self.links:
                link.close()
            self.links.clear()

        self._call(cut())

    def restore(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        self.cut()

        async def finish() -> None:
            relays = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for relay in relays:
                relay.cancel()
            await asyncio.gather(*relays, return_exceptions=True)

        self._call(finish())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class CuttingRequest(EmulatorRequest):
    def __init__(self, emulator: BotApiEmulator, cut: Any, after: int) -> None:
        super().__init__(emulator)
        self.cut, self.after, self.sends = cut, after, 0

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        answer = await super().do_request(url, method, request_data, *args, **kwargs)
        if url.endswith("/sendMessage"):
            self.sends += 1
            if self.sends == self.after:
                self.cut()
        return answer


async def test_a_lost_postgresql_server_mid_run_loses_nothing(sessions, clock, database_url,
                                                               caplog):
    if not database_url.startswith("postgresql"):
        pytest.skip("a server connection to lose")
    people = _people(sessions, clock, 30)
    _queue(sessions, clock, people)
    url = make_url(database_url)
    proxy = PostgresProxy(url.host or "127.0.0.1", url.port or 5432)
    engine = make_engine(url.set(host="127.0.0.1", port=proxy.port)
                         .render_as_string(hide_password=False))
    emulator = BotApiEmulator()
    request = CuttingRequest(emulator, proxy.cut, after=10)
    seen: dict[str, int] = {}
    try:
        async with Sender(make_session_factory(engine), clock, database_url, emulator=emulator,
                          request=request, batch_size=10, concurrency=4) as sender:
            sender.know(*people)

            async def pause(seconds: float) -> None:
                sender.pauses.append(seconds)
                seen.setdefault("noticed", request.sends)
                if len(sender.pauses) == 3:
                    seen["restored"] = request.sends
                    proxy.restore()
                await asyncio.sleep(0.05)  # the reconnection is real network work

            sender.runtime.pause = pause
            report = await sender.run()
    finally:
        engine.dispose()
        proxy.close()
    assert seen["restored"] == seen["noticed"] >= 10
    assert (report.sent, report.failed) == (30, 0)
    assert _statuses(sessions) == {"sent": 30}
    delivered = Counter(text for person in people for text in sender.texts(person))
    assert len(delivered) == 30 and set(delivered.values()) == {1}
    assert "PostgreSQL" in caplog.text and "the database answers again" in caplog.text
