"""What every ``jobbot`` command shares: the database (checked before use), the bot's
username for links, and one clear line for the failures an operator meets first (a
missing schema, a full or read-only disk, a token Telegram refuses, no network).

The command modules import this one and never each other, so there is no import cycle.
"""

from __future__ import annotations

import argparse
import errno
import re
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.db import current_revisions, head_revisions, make_engine, make_session_factory
from bot.errors import JobbotError
from bot.settings import Settings

UPGRADE_HINT = "run 'jobbot db upgrade'"


# --- the database -----------------------------------------------------------------------
def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database, or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    name = parsed.database
    if name == ":memory:" or name.startswith("file::memory:"):
        return None
    if name.startswith("file:"):  # a URI filename (?uri=true)
        name = name.removeprefix("file:").split("?")[0]
    return Path(name)


def check_schema(settings: Settings) -> Engine:
    """The database's engine, once it is known to hold the newest schema.

    A SQLite file that does not exist yet is not created here (connecting would leave
    an empty file behind): only ``jobbot db upgrade`` creates the database.
    """
    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        raise JobbotError(f"there is no database at {path.resolve()} yet: {UPGRADE_HINT} first")
    engine = make_engine(settings.database_url)
    try:
        current = current_revisions(engine)
    except DBAPIError as error:
        raise storage_error(error, settings.database_url) from None
    if not current:
        raise JobbotError(f"the database has no schema yet: {UPGRADE_HINT} first")
    if current != head_revisions(settings.database_url):
        raise JobbotError(f"the database schema is not up to date: {UPGRADE_HINT}")
    return engine


def session_factory(settings: Settings) -> sessionmaker[Session]:
    """Sessions on a database with the newest schema (else one line saying what to do)."""
    return make_session_factory(check_schema(settings))


# Less room than this beside a SQLite file counts as a full disk at startup.
MIN_FREE_BYTES = 1024 * 1024


def check_writable(engine: Engine, url: str) -> None:
    """Write (and undo) one row, so a full or read-only disk is found at startup rather
    than when the first person writes to the bot."""
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
    except DBAPIError as error:
        raise storage_error(error, url) from None
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        # SQLite writes its journal beside the file: with almost no room left the first
        # check-in of the day would fail, so say it now.
        path = Path(parsed.database.removeprefix("file:").split("?", 1)[0]).resolve()
        free = shutil.disk_usage(path.parent).free
        if free < MIN_FREE_BYTES:
            raise JobbotError(f"the disk is full: {free // 1024} KB free beside the database "
                              f"at {_where(url)}; free some space and start again")


# SQLite's and PostgreSQL's words for the failures an operator can fix on the machine.
_FULL = re.compile(r"database or disk is full|no space left on device|disk full", re.I)
_READ_ONLY = re.compile(r"readonly database|read-only|read only file system", re.I)
_CANNOT_OPEN = re.compile(r"unable to open database file", re.I)
# PostgreSQL error codes (SQLSTATE): disk_full, read_only_sql_transaction.
_PG_FULL, _PG_READ_ONLY = "53100", "25006"


def storage_error(error: BaseException, url: str) -> JobbotError:
    """One line for a database failure: says so when the disk is full or read-only."""
    original = getattr(error, "orig", None) or error
    message = str(original).strip().splitlines()[0] if str(original).strip() else ""
    state = getattr(original, "sqlstate", None)
    where = _where(url)
    if state == _PG_FULL or _FULL.search(message) or _errno(original) == errno.ENOSPC:
        return JobbotError(f"the disk is full: cannot write the database at {where}; "
                           "free some space and start again")
    if state == _PG_READ_ONLY or _READ_ONLY.search(message) or _errno(original) == errno.EROFS:
        return JobbotError(f"the disk is read-only: cannot write the database at {where}; "
                           "make it writable (or point JOBBOT_DATABASE_URL elsewhere) "
                           "and start again")
    if _CANNOT_OPEN.search(message):
        return JobbotError(f"cannot open the database at {where}: does the folder exist, "
                           "and may this user write to it?")
    if isinstance(error, OperationalError) or isinstance(original, OSError):
        return JobbotError(f"cannot reach the database at {where}: {message}")
    return JobbotError(f"database error at {where}: {message}")


def os_error(error: OSError, what: str) -> JobbotError:
    """One line for a file the command could not write."""
    if error.errno == errno.ENOSPC:
        return JobbotError(f"the disk is full: cannot write {what}")
    if error.errno == errno.EROFS:
        return JobbotError(f"the disk is read-only: cannot write {what}")
    return JobbotError(f"cannot write {what}: {error.strerror}")


def _errno(error: BaseException) -> int | None:
    return error.errno if isinstance(error, OSError) else None


def _where(url: str) -> str:
    """The database's location without its password."""
    path = sqlite_path(url)
    if path is not None:
        return str(path.resolve())
    parsed = make_url(url)
    return parsed.render_as_string(hide_password=True)


# --- the bot ------------------------------------------------------------------------------
def masked_token(token: str) -> str:
    """The bot id (the part before the colon) and nothing of the secret."""
    bot_id, colon, _secret = token.partition(":")
    return f"{bot_id}:***" if colon else "***"


def telegram_problem(error: BaseException, settings: Settings) -> JobbotError | None:
    """One line for Telegram refusing the token or not being reachable (None: another
    problem)."""
    from telegram.error import InvalidToken, NetworkError, TimedOut

    if isinstance(error, InvalidToken):
        return JobbotError(
            f"Telegram refused the bot token in JOBBOT_TELEGRAM_TOKEN "
            f"({masked_token(settings.telegram_token or '')}): copy it again from @BotFather")
    if isinstance(error, TimedOut | NetworkError):
        return JobbotError(f"cannot reach the Telegram Bot API at {settings.telegram_api_url} "
                           "(JOBBOT_TELEGRAM_API_URL): check the network and try again")
    return None


def bot_username(args: argparse.Namespace, settings: Settings) -> str:
    if args.bot_username:
        return str(args.bot_username).lstrip("@")
    if settings.bot_username:
        return settings.bot_username.lstrip("@")
    if not settings.telegram_token:
        raise JobbotError("no bot username: pass --bot-username or set JOBBOT_BOT_USERNAME "
                          "or JOBBOT_TELEGRAM_TOKEN")
    import asyncio

    from telegram import Bot
    from telegram.error import TelegramError

    async def ask() -> str:
        async with Bot(settings.telegram_token or "", base_url=settings.bot_base_url) as bot:
            return bot.username

    try:
        return asyncio.run(ask())
    except TelegramError as error:
        problem = telegram_problem(error, settings)
        if problem is not None:
            raise problem from None
        raise JobbotError("could not ask Telegram for the bot's username: "
                          f"{type(error).__name__}") from None


def expiry_line(expires_at: Any, settings: Settings, *, once: bool = False) -> str:
    """When a link stops working, in the job centres' zone (and UTC, as stored)."""
    local = expires_at.astimezone(settings.zone)
    valid = "valid once, until" if once else "valid until"
    return f"{valid} {local:%Y-%m-%d %H:%M} {settings.timezone} ({expires_at:%Y-%m-%d %H:%M} UTC)"
