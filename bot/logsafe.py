"""Logging that keeps personal data out: tracebacks without exception messages.

Exception messages can carry what a person wrote or is called (a database
error repeats the failing row, for instance); the type and the code location
are what an operator needs to find the fault, with the error's code: SQLite's error
name (``SQLITE_FULL``, ``SQLITE_READONLY``), PostgreSQL's SQLSTATE, the HTTP status
of a Telegram answer. A full disk, a read-only database and a refused connection
then read differently in the log, with no message text in it.
"""

from __future__ import annotations

import errno as errno_names
import logging
import traceback
from types import TracebackType

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# What an operator should read for the codes that stop the bot from writing.
_MEANINGS = {
    "SQLITE_FULL": "the disk is full",
    "SQLITE_READONLY": "the database is read-only",
    "SQLITE_READONLY_DIRECTORY": "the database's directory is read-only",
    "SQLITE_READONLY_DBMOVED": "the database file was moved or deleted",
    "SQLITE_CANTOPEN": "the database file cannot be opened",
    "SQLITE_IOERR": "the disk cannot be read or written",
    "SQLITE_CORRUPT": "the database file is damaged",
    "SQLITE_BUSY": "the database is locked by another process",
    "SQLITE_PERM": "no permission to write the database",
    "53100": "the database server's disk is full",
    "53200": "the database server is out of memory",
    "53300": "the database server has too many connections",
    "25006": "the database is read-only",
    "57P01": "the database server shut down the connection",
    "57P03": "the database server is starting up or shutting down",
    "08006": "the connection to the database server broke",
    "08001": "the database server cannot be reached",
}
# psycopg reports a failed connection without a SQLSTATE: its message (the server's
# address, never a person) tells which.
_CONNECTION_FAILURES = (
    ("connection refused", "connection refused"),
    ("timeout", "connection timed out"),
    ("password authentication failed", "authentication failed"),
    ("does not exist", "the database or role does not exist"),
    ("could not translate host name", "unknown host"),
    ("server closed the connection", "the server closed the connection"),
)


def error_code(error: BaseException) -> str | None:
    """The error's code, without its message: ``SQLite SQLITE_FULL``, ``PostgreSQL SQLSTATE
    53100``, ``PostgreSQL connection refused``, ``HTTP 502``, ``errno ECONNREFUSED``."""
    orig = getattr(error, "orig", None)  # SQLAlchemy wraps the driver's error
    if isinstance(orig, BaseException) and orig is not error:
        return error_code(orig)
    name = getattr(error, "sqlite_errorname", None)
    if name:
        return f"SQLite {name}"
    module = type(error).__module__
    if module.startswith("psycopg"):
        state = getattr(error, "sqlstate", None)
        if state:
            return f"PostgreSQL SQLSTATE {state}"
        text = str(error).lower()
        for needle, reason in _CONNECTION_FAILURES:
            if needle in text:
                return f"PostgreSQL {reason}"
        return "PostgreSQL connection failed"
    if module.startswith("telegram"):
        from bot.transport.telegram_errors import error_code as telegram_code

        return telegram_code(error)
    number = getattr(error, "errno", None)
    if isinstance(error, OSError) and isinstance(number, int):
        return f"errno {errno_names.errorcode.get(number, number)}"
    return None


def describe_error(error: BaseException) -> str:
    """``OperationalError (SQLite SQLITE_FULL: the disk is full)``: class, code, meaning."""
    code = error_code(error)
    if code is None:
        return type(error).__name__
    meaning = meaning_of(code)
    return f"{type(error).__name__} ({code}{': ' + meaning if meaning else ''})"


def meaning_of(code: str | None) -> str | None:
    if not code:
        return None
    key = code.rsplit(" ", 1)[-1]
    if key in _MEANINGS:
        return _MEANINGS[key]
    # Extended SQLite codes (SQLITE_IOERR_WRITE, SQLITE_READONLY_ROLLBACK) by their family.
    family = "_".join(key.split("_")[:2])
    return _MEANINGS.get(family)


class PrivateFormatter(logging.Formatter):
    def formatException(self, ei: ExcInfo) -> str:
        _kind, error, tb = ei
        lines: list[str] = []
        chain: list[BaseException] = []
        current: BaseException | None = error
        while current is not None and current not in chain:
            chain.append(current)
            current = current.__cause__ or current.__context__
        for number, item in enumerate(reversed(chain)):
            if number:
                lines.append("which led to:")
            lines.append("Traceback (most recent call last):")
            frames = traceback.extract_tb(item.__traceback__ if item is not error else tb)
            lines += [f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames]
            code = error_code(item)
            lines.append(f"{type(item).__module__}.{type(item).__qualname__} (message withheld)"
                         + (f" [{code}]" if code else ""))
        return "\n".join(lines)


def configure(level: int) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(PrivateFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
