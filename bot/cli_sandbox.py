"""``jobbot sandbox``: try the bot without Telegram, in a browser on this machine."""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.settings import Settings


def add_commands(commands: Any) -> None:
    sandbox = commands.add_parser(
        "sandbox", help="try the bot without Telegram: phones in a web page on this machine",
        description="Starts an emulated Telegram Bot API, the bot against it with a fresh "
                    "SQLite database (a job centre, its staff, information sessions and "
                    "invites), and a web page with phones and a clock you can move forward. "
                    "Listens on 127.0.0.1 only.",
    )
    sandbox.add_argument("--port", type=_port, default=8080,
                         help="port of the web page (default: 8080)")
    sandbox.add_argument("--data-dir", type=Path, default=Path("sandbox-data"),
                         help="where the SQLite file lives (default: ./sandbox-data)")
    sandbox.add_argument("--keep", action="store_true",
                         help="keep the data and clock of the last run instead of starting fresh")
    sandbox.add_argument("--start-at", type=_local_time, metavar="YYYY-MM-DDTHH:MM",
                         help="start the sandbox clock at this local time (JOBBOT_TIMEZONE, "
                              "default Europe/Stockholm), now or later")
    sandbox.set_defaults(run=sandbox_command)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return port


def _local_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date and time: {value!r}") from None
    return moment


def sandbox_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.sandbox.app import Sandbox

    if not args.verbose:
        # APScheduler reports every run of every job; the page shows what matters.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    start_at = args.start_at
    if start_at is not None and start_at.tzinfo is None:
        start_at = start_at.replace(tzinfo=settings.zone)
    sandbox = Sandbox(settings, data_dir=args.data_dir, port=args.port, keep=args.keep,
                      start_at=start_at)
    asyncio.run(sandbox.serve_until_stopped())
    return 0
