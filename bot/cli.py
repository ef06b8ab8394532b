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

from bot import logsafe
from bot.errors import DomainError, JobbotError, SettingsError
from bot.settings import Settings, load_settings

if TYPE_CHECKING:
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
        "run", help="run the bot (long polling, or a webhook when JOBBOT_WEBHOOK_URL is set)"
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
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # One line per job run says nothing an operator needs.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        return int(args.run(args, load_settings()) or 0)
    except DomainError as error:
        print(f"jobbot: error: {error.message.format(**error.params)}", file=sys.stderr)
    except JobbotError as error:
        print(f"jobbot: error: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if args.verbose:
            raise
        print(f"jobbot: error: unexpected {type(error).__name__}: {error} "
              "(run with --verbose for details)", file=sys.stderr)
    return 1


def db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.exc import OperationalError

    from bot.db import upgrade

    try:
        upgrade(settings.database_url)
    except OperationalError as error:
        raise JobbotError(f"cannot reach the database: {error.orig}") from None
    print("database is up to date")
    return 0


ALLOWED_UPDATES = ["message", "callback_query"]


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.telegram_token:
        raise SettingsError(
            "no bot token: create a bot with @BotFather in Telegram and set "
            "JOBBOT_TELEGRAM_TOKEN, or try the bot without Telegram: jobbot sandbox"
        )
    from bot.app import build_application

    check_schema(settings)
    check_writable(settings)
    application = build_application(settings)
    # run_polling and run_webhook own the event loop and stop cleanly on SIGINT/SIGTERM.
    if settings.webhook_url is None:
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
        return 0
    run_webhook(application, settings)
    return 0


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


def check_schema(settings: Settings) -> None:
    from sqlalchemy.exc import OperationalError

    from bot.db import current_revisions, head_revisions, make_engine

    try:
        current = current_revisions(make_engine(settings.database_url))
    except OperationalError as error:
        raise JobbotError(f"cannot reach the database: {error.orig}") from None
    if current != head_revisions(settings.database_url):
        raise JobbotError("the database schema is not up to date: run 'jobbot db upgrade'")


# Below this, a SQLite database soon cannot grow: say so at startup, not mid-run.
MIN_FREE_BYTES = 1024 * 1024


def check_writable(settings: Settings) -> None:
    """The bot writes as it works (outcomes, conversation steps): on a full or read-only
    disk it must not start half-working. One line says which."""
    from sqlalchemy import make_url, update
    from sqlalchemy.exc import DBAPIError

    from bot.db import make_engine
    from bot.logsafe import error_code, meaning_of
    from bot.models import SendBudget

    url = make_url(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            # A real write, committed: a full disk or a read-only database refuses it.
            connection.execute(update(SendBudget).values(next_slot=SendBudget.next_slot))
    except DBAPIError as error:
        code = error_code(error)
        meaning = meaning_of(code) or "the database refused a write"
        raise JobbotError(f"cannot write to the database: {meaning} ({code})") from None
    finally:
        engine.dispose()
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        import shutil
        from pathlib import Path

        path = Path(url.database.removeprefix("file:").split("?", 1)[0]).resolve()
        free = shutil.disk_usage(path.parent).free
        if free < MIN_FREE_BYTES:
            raise JobbotError(f"cannot write to the database: the disk holding {path} is full "
                              f"({free // 1024} KB free)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
