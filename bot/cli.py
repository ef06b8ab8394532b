"""The ``jobbot`` command line.

Every failure is one line on stderr and a non-zero exit code; ``--help`` works
on every command. Each command module adds its parser with ``set_defaults(run=...)``.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy.exc import DBAPIError

from bot import logsafe
from bot.errors import DomainError, JobbotError, SettingsError
from bot.settings import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from telegram.ext import Application


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is a single line pointing at --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> OneLineParser:
    from bot import (
        cli_attendance,
        cli_config,
        cli_invites,
        cli_outbox,
        cli_report,
        cli_sandbox,
        cli_sessions,
    )

    parser = OneLineParser(
        prog="jobbot",
        description="A multilingual Telegram bot that follows up job seekers at job centres.",
    )
    parser.add_argument("--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    commands.required = True

    db = commands.add_parser("db", help="database schema")
    db_actions = db.add_subparsers(dest="action", metavar="ACTION")
    db_actions.required = True
    db_actions.add_parser(
        "upgrade", help="create the schema or migrate it to the newest version"
    ).set_defaults(run=db_upgrade)

    commands.add_parser(
        "run", help="run the bot (long polling, or a webhook when JOBBOT_WEBHOOK_URL is set) "
                    "and the staff web console (JOBBOT_WEB_PORT)"
    ).set_defaults(run=run)
    cli_invites.add_commands(commands)
    cli_sessions.add_commands(commands)
    cli_attendance.add_commands(commands)
    cli_report.add_commands(commands)
    cli_sandbox.add_commands(commands)
    cli_config.add_commands(commands)
    cli_outbox.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logsafe.configure(logging.DEBUG if args.verbose else logging.INFO)
    # httpx logs every request URL, and the URL holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # At debug level these log whole updates (names, message texts), even with --verbose.
    for name in ("telegram.ext.Application", "telegram.ext._utils.webhookhandler",
                 "telegram.Bot", "telegram.ext.ExtBot"):
        logging.getLogger(name).setLevel(logging.INFO)
    # python-telegram-bot 22 warns on every 429 that retry_after will become a timedelta;
    # the bot reads both, and a 429 is logged once with a count (bot/transport).
    warnings.filterwarnings("ignore", message=".*retry_after.*", category=DeprecationWarning)
    if not args.verbose:
        # A token Telegram refuses, or no network, at startup: `run` says so in one line
        # (bot.cli_common.telegram_problem) instead of python-telegram-bot's traceback.
        for name in ("telegram.ext", "telegram.ext.Application"):
            logging.getLogger(name).addFilter(_bootstrap_failure_filter)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # One line per job run says nothing an operator needs.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    settings: Settings | None = None
    try:
        settings = load_settings()
        return int(args.run(args, settings) or 0)
    except DomainError as error:
        print(f"jobbot: error: {error.message.format(**error.params)}", file=sys.stderr)
    except JobbotError as error:
        print(f"jobbot: error: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except DBAPIError as error:
        from bot.cli_common import storage_error

        if args.verbose:
            raise
        url = settings.database_url if settings is not None else "?"
        print(f"jobbot: error: {storage_error(error, url)}", file=sys.stderr)
    except OSError as error:
        if args.verbose:
            raise
        print(f"jobbot: error: {_os_problem(error)}", file=sys.stderr)
    except Exception as error:
        if args.verbose:
            raise
        print(f"jobbot: error: unexpected {type(error).__name__}: {error} "
              "(run with --verbose for details)", file=sys.stderr)
    return 1


def _bootstrap_failure_filter(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Network Retry Loop (Bootstrap")


def _os_problem(error: OSError) -> str:
    """A full or read-only disk says so; anything else as an unexpected error."""
    if error.errno in (errno.ENOSPC, errno.EROFS):
        from bot.cli_common import os_error

        return str(os_error(error, error.filename or "a file"))
    return (f"unexpected {type(error).__name__}: {error.strerror or error} "
            "(run with --verbose for details)")


def db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.exc import DBAPIError

    from bot.cli_common import sqlite_path, storage_error
    from bot.db import current_revisions, head_revisions, make_engine, upgrade

    path = sqlite_path(settings.database_url)
    try:
        before = set() if path is not None and not path.exists() else current_revisions(
            make_engine(settings.database_url))
        upgrade(settings.database_url)
    except DBAPIError as error:
        raise storage_error(error, settings.database_url) from None
    after = ", ".join(sorted(head_revisions(settings.database_url)))
    if not before:
        print(f"database schema created (revision {after})")
    elif before == head_revisions(settings.database_url):
        print(f"database is already up to date (revision {after})")
    else:
        print(f"database migrated from revision {', '.join(sorted(before))} to {after}")
    return 0


ALLOWED_UPDATES = ["message", "callback_query"]


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.telegram_token:
        raise SettingsError(
            "no bot token: create a bot with @BotFather in Telegram and set "
            "JOBBOT_TELEGRAM_TOKEN, or try the bot without Telegram: jobbot sandbox"
        )
    from telegram.error import TelegramError

    from bot.app import build_application
    from bot.cli_common import check_writable, telegram_problem

    check_writable(check_schema(settings), settings.database_url)
    application = build_application(settings)
    from bot.web.app import attach

    attach(application, settings)
    # run_polling and run_webhook own the event loop and stop cleanly on SIGINT/SIGTERM.
    try:
        if settings.webhook_url is None:
            application.run_polling(allowed_updates=ALLOWED_UPDATES)
        else:
            run_webhook(application, settings)
    except TelegramError as error:
        _release(application)
        problem = telegram_problem(error, settings)
        if problem is None:
            raise
        raise problem from None
    except BaseException:
        _release(application)
        raise
    return 0


def _release(application: Application) -> None:
    """The bot never started (a refused token, no network): close its connections, which
    python-telegram-bot leaves open when it fails before it was initialised."""
    import asyncio

    try:
        asyncio.run(application.bot.shutdown())
    except Exception as error:  # closing is best effort; the real failure is reported
        logging.getLogger(__name__).debug("closing the bot's connections: %s",
                                          type(error).__name__)


def run_webhook(application: Application, settings: Settings) -> None:
    """Serve Telegram's update posts; several instances behind a load balancer may share
    one bot, since conversation state and the outbox live in the database.

    Every instance sets the webhook when it starts: the same URL and secret each time, so
    that is harmless, and an instance that stops leaves the webhook to the others.
    """
    try:
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=settings.webhook_path,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
    except OSError as error:
        if error.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        raise JobbotError(
            f"cannot listen for the webhook on {settings.webhook_listen}:"
            f"{settings.webhook_port} (JOBBOT_WEBHOOK_LISTEN, JOBBOT_WEBHOOK_PORT): "
            f"{error.strerror}"
        ) from None


def check_schema(settings: Settings) -> Engine:
    """Kept here for callers of earlier releases; see ``bot.cli_common.check_schema``."""
    from bot.cli_common import check_schema as check

    return check(settings)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
