"""The command line as a newcomer meets it: a fresh database, a wrong token, no network,
a full or read-only disk. Every failure is one line that says what to do."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.cli_common import storage_error
from bot.clock import SystemClock
from bot.db import make_engine, make_session_factory, unit_of_work, upgrade
from bot.emulator import BotApiEmulator
from bot.emulator.server import serve
from bot.models import InfoSession
from bot.settings import load_settings
from tests import factories
from tests.conftest import new_postgres_database

ROOT = Path(__file__).resolve().parents[1]


# No JOBBOT_ setting of the machine's, in a directory of the test's own (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("clean_env")


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBBOT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env.update({f"JOBBOT_{name.upper()}": value for name, value in settings.items()})
    return env


async def _jobbot(tmp_path: Path, *args: str, **settings: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=tmp_path, env=_env(**settings),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/jobbot.sqlite3"
    upgrade(url)
    return url


# --- jobbot run ---------------------------------------------------------------------------
async def test_a_token_telegram_refuses_is_one_line_without_the_secret(tmp_path):
    emulator = BotApiEmulator("123456:the-right-token")
    runner, port = await serve(emulator, port=0, shutdown_timeout=0.5)
    try:
        code, _out, err = await _jobbot(
            tmp_path, "run", telegram_token="987654:AAE-secret-part-of-the-token",
            telegram_api_url=f"http://127.0.0.1:{port}", database_url=_migrated(tmp_path))
    finally:
        await runner.cleanup()
    assert code == 1
    assert err.strip().splitlines() == [
        "jobbot: error: Telegram refused the bot token in JOBBOT_TELEGRAM_TOKEN "
        "(987654:***): copy it again from @BotFather"]
    assert "secret-part" not in err


async def test_no_network_is_one_line_saying_where(tmp_path):
    code, _out, err = await _jobbot(
        tmp_path, "run", telegram_token="987654:secret", database_url=_migrated(tmp_path),
        # Nothing listens on port 9 of this machine: the connection is refused at once.
        telegram_api_url="http://127.0.0.1:9")
    assert code == 1
    assert err.strip().splitlines() == [
        "jobbot: error: cannot reach the Telegram Bot API at http://127.0.0.1:9 "
        "(JOBBOT_TELEGRAM_API_URL): check the network and try again"]


async def test_a_read_only_database_at_startup_says_so(tmp_path):
    url = _migrated(tmp_path)
    read_only = f"sqlite:///file:{tmp_path}/jobbot.sqlite3?mode=ro&uri=true"
    code, _out, err = await _jobbot(tmp_path, "run", telegram_token="987654:secret",
                                    database_url=read_only)
    assert code == 1
    [line] = err.strip().splitlines()
    assert line.startswith("jobbot: error: the disk is read-only: cannot write the database "
                           f"at {tmp_path}/jobbot.sqlite3")
    assert url  # the database itself is untouched


def test_a_full_disk_says_so_in_one_line(tmp_path):
    # SQLite's own "disk is full" (SQLITE_FULL), from a database capped at its size.
    path = tmp_path / "full.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE filler (data BLOB)")
    connection.execute("PRAGMA max_page_count = 3")
    with pytest.raises(sqlite3.OperationalError) as raised:
        connection.execute("INSERT INTO filler VALUES (zeroblob(100000))")
    connection.close()
    message = str(storage_error(raised.value, f"sqlite:///{path}"))
    assert message == (f"the disk is full: cannot write the database at {path}; "
                       "free some space and start again")


# --- jobbot db upgrade ----------------------------------------------------------------------
def test_db_upgrade_says_whether_it_created_migrated_or_found_it_current(
        monkeypatch, capsys, tmp_path):
    url = f"sqlite:///{tmp_path}/jobbot.sqlite3"
    monkeypatch.setenv("JOBBOT_DATABASE_URL", url)
    from bot.db import head_revisions

    head = ", ".join(sorted(head_revisions(url)))
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"database schema created (revision {head})\n"
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"database is already up to date (revision {head})\n"

    older = f"sqlite:///{tmp_path}/older.sqlite3"
    upgrade(older, "0007")
    monkeypatch.setenv("JOBBOT_DATABASE_URL", older)
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"database migrated from revision 0007 to {head}\n"


def test_db_upgrade_into_a_missing_folder_is_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("JOBBOT_DATABASE_URL", f"sqlite:///{tmp_path}/no/such/dir/j.sqlite3")
    assert main(["db", "upgrade"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"jobbot: error: cannot open the database at {tmp_path}/no/such/dir")


def test_commands_before_db_upgrade_leave_no_file_behind(monkeypatch, capsys, tmp_path):
    path = tmp_path / "jobbot.sqlite3"
    monkeypatch.setenv("JOBBOT_DATABASE_URL", f"sqlite:///{path}")
    assert main(["centre", "add", "Jobbtorg Kista"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"jobbot: error: there is no database at {path} yet: run 'jobbot db upgrade' first"]
    assert list(tmp_path.iterdir()) == []
    assert main(["session", "list"]) == 1
    assert list(tmp_path.iterdir()) == []


# --- invites, sessions, report ------------------------------------------------------------
def test_invite_create_prints_when_the_link_expires(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("JOBBOT_DATABASE_URL", _migrated(tmp_path))
    monkeypatch.setenv("JOBBOT_BOT_USERNAME", "jobbtorg_bot")
    assert main(["centre", "add", "Jobbtorg Kista"]) == 0
    capsys.readouterr()
    before = SystemClock().now()
    assert main(["invite", "create", "--centre", "Jobbtorg Kista", "--days", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("https://t.me/jobbtorg_bot?start=")
    expires = (before + timedelta(days=3)).astimezone(load_settings(env_file=None).zone)
    [line] = captured.err.strip().splitlines()
    assert line.startswith(f"valid once, until {expires:%Y-%m-%d} ")
    assert "Europe/Stockholm" in line and "UTC" in line


def test_session_list_on_an_empty_database_says_so(monkeypatch, capsys, tmp_path):
    url = _migrated(tmp_path)
    monkeypatch.setenv("JOBBOT_DATABASE_URL", url)
    assert main(["session", "list"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("no information sessions from today on "
                            "(add one with 'jobbot session add')\n")


@pytest.mark.postgres
def test_postgres_urls_without_a_driver_use_the_installed_one(monkeypatch, capsys):
    with new_postgres_database("jobbot_cli") as url:
        # What hosting providers print: postgres://user:password@host/name
        plain = url.replace("postgresql+psycopg://", "postgres://")
        monkeypatch.setenv("JOBBOT_DATABASE_URL", plain)
        assert main(["db", "upgrade"]) == 0
        assert "already up to date" in capsys.readouterr().out
        assert main(["session", "list"]) == 0
        assert "no information sessions" in capsys.readouterr().err


def test_postgres_url_forms_are_read_as_psycopg():
    for given in ("postgres://u:p@db.example/jobbot", "postgresql://u:p@db.example/jobbot"):
        settings = load_settings(env_file=None, database_url=given)
        assert settings.database_url == "postgresql+psycopg://u:p@db.example/jobbot"


def test_report_without_a_period_covers_the_last_four_weeks(monkeypatch, capsys, tmp_path):
    url = _migrated(tmp_path)
    monkeypatch.setenv("JOBBOT_DATABASE_URL", url)
    assert main(["report", "--format", "json"]) == 0
    captured = capsys.readouterr()
    today = SystemClock().now().astimezone(load_settings(env_file=None).zone).date()
    first = today - timedelta(days=27)
    assert captured.err == f"figures for {first.isoformat()} to {today.isoformat()}\n"
    assert f'"from": "{first.isoformat()}"' in captured.out
    assert f'"to": "{today.isoformat()}"' in captured.out


def test_session_list_shows_sessions_when_there_are_some(monkeypatch, capsys, tmp_path):
    url = _migrated(tmp_path)
    monkeypatch.setenv("JOBBOT_DATABASE_URL", url)
    now = SystemClock().now()
    with unit_of_work(make_session_factory(make_engine(url))) as db:
        centre = factories.centre(db, now)
        factories.session(db, now, centre, now + timedelta(days=2))
    assert main(["session", "list"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and len(captured.out.strip().splitlines()) == 1
    with unit_of_work(make_session_factory(make_engine(url))) as db:
        assert len(list(db.scalars(select(InfoSession)))) == 1


def test_command_modules_share_helpers_through_one_module_and_import_no_other():
    import ast

    for path in sorted((ROOT / "bot").glob("cli_*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        commands = {name for name in imported
                    if name == "bot.cli" or name.startswith("bot.cli_")}
        assert commands <= {"bot.cli_common"}, (path.name, commands)
