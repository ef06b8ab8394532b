"""The aiohttp request class against the emulated Bot API over HTTP, the emulator's flood
control, and error codes an operator can read (no message text in them)."""

from __future__ import annotations

import io
import logging
import socket
import sqlite3

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.emulator import BotApiEmulator, RollingLimit
from bot.emulator.server import serve
from bot.logsafe import PrivateFormatter, describe_error, error_code
from bot.transport.aiohttp_request import AiohttpRequest
from bot.transport.telegram_errors import Verdict, verdict


@pytest.fixture
async def served():
    emulator = BotApiEmulator()
    runner, port = await serve(emulator, shutdown_timeout=1)
    yield emulator, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def _bot(emulator: BotApiEmulator, base: str, **options: float) -> Bot:
    return Bot(emulator.token, base_url=f"{base}/bot",
               request=AiohttpRequest(**options))  # type: ignore[arg-type]


async def test_messages_buttons_and_files_go_through_aiohttp(served):
    emulator, base = served
    user = emulator.add_user("Amina", "ar")
    bot = _bot(emulator, base)
    async with bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("✅ Kommer", callback_data="rm:y:1")]])
        sent = await bot.send_message(user["id"], "مرحبا — välkommen", reply_markup=keyboard)
        document = await bot.send_document(user["id"], InputFile(io.BytesIO(b"BEGIN:VCALENDAR"),
                                                                 filename="session.ics"),
                                           caption="📅")
    [text, attachment] = emulator.bot_messages(user["id"])
    assert text["text"] == "مرحبا — välkommen" and sent.message_id == text["message_id"]
    assert text["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "rm:y:1"
    assert attachment["document"]["file_name"] == "session.ics"
    assert emulator.files[document.document.file_id][1] == b"BEGIN:VCALENDAR"


async def test_telegrams_answers_become_python_telegram_bots_errors(served):
    emulator, base = served
    user = emulator.add_user("Erik", "sv")
    bot = _bot(emulator, base, read_timeout=0.3)
    async with bot:
        emulator.rate_limit = RollingLimit(per_second=1, retry_after=3)
        await bot.send_message(user["id"], "one")
        with pytest.raises(RetryAfter) as throttled:
            await bot.send_message(user["id"], "two")
        emulator.rate_limit = None
        emulator.outage = "5xx"
        with pytest.raises(NetworkError) as outage:
            await bot.send_message(user["id"], "three")
        emulator.outage, emulator.outage_delay = "timeout", 2.0
        with pytest.raises(TimedOut):
            await bot.send_message(user["id"], "four")
        emulator.outage = None
        emulator.user_blocks_bot(user["id"])
        with pytest.raises(Forbidden) as gone:
            await bot.send_message(user["id"], "five")
        with pytest.raises(BadRequest) as wrong:
            await bot.send_message(user["id"] + 1, "six")
    assert [verdict(e.value) for e in (throttled, outage, gone, wrong)] == [
        Verdict.THROTTLED, Verdict.TRANSIENT, Verdict.GONE, Verdict.WRONG]
    assert [error_code(e.value) for e in (throttled, outage, gone, wrong)] == [
        "429", "HTTP 502", "403", "400 Chat not found"]


async def test_a_refused_connection_is_a_network_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest(connect_timeout=1)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as refused:
            await request.post(f"http://127.0.0.1:{port}/bot1:x/getMe")
    finally:
        await request.shutdown()
    assert verdict(refused.value) is Verdict.TRANSIENT
    # The class of the failure, never the URL (it holds the bot token).
    assert "1:x" not in str(refused.value) and "ClientConnectorError" in str(refused.value)


def test_the_flood_control_counts_a_rolling_second():
    now = [0.0]
    limit = RollingLimit(per_second=3, clock=lambda: now[0])
    answers = []
    for at in (0.0, 0.2, 0.4, 0.6, 1.01, 1.3):
        now[0] = at
        answers.append(limit.admit())
    assert answers == [True, True, True, False, True, True]
    assert (limit.accepted, limit.refused, limit.peak) == (5, 1, 3)


def test_database_errors_say_which_without_their_message(tmp_path):
    full = sqlite3.connect(tmp_path / "full.db")
    full.execute("CREATE TABLE note (text)")
    full.commit()
    # The file may not grow: SQLite answers as on a full disk.
    full.execute(f"PRAGMA max_page_count = {full.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(sqlite3.OperationalError) as disk_full:
        full.execute("INSERT INTO note VALUES (?)", ("Amina Yusuf " * 2000,))
    assert describe_error(disk_full.value) == (
        "OperationalError (SQLite SQLITE_FULL: the disk is full)")
    (tmp_path / "ro.db").write_bytes(b"")
    readonly = sqlite3.connect(f"file:{tmp_path / 'ro.db'}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as refused:
        readonly.execute("CREATE TABLE note (text)")
    assert "SQLITE_READONLY" in describe_error(refused.value)
    # In a logged traceback: the code, not the message (which can repeat a name).
    record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "failed", None,
                               (type(disk_full.value), disk_full.value, None))
    logged = PrivateFormatter().format(record)
    assert "[SQLite SQLITE_FULL]" in logged and "Amina" not in logged


def test_postgresql_errors_carry_their_sqlstate():
    psycopg = pytest.importorskip("psycopg")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(f"postgresql://nobody@127.0.0.1:{port}/none", connect_timeout=2)
    assert error_code(refused.value) == "PostgreSQL connection refused"
    full = psycopg.errors.DiskFull()
    assert describe_error(full) == (
        "DiskFull (PostgreSQL SQLSTATE 53100: the database server's disk is full)")
