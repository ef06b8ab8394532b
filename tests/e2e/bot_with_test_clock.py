"""The bot as ``jobbot run`` starts it, but on a clock the end-to-end test sets.

Run as ``python -m tests.e2e.bot_with_test_clock``. The settings come from the
environment exactly as for ``jobbot run``; the clock reads the moment written in
the file named by ``JOBBOT_TEST_CLOCK_FILE`` and moves on with real time from
when the file was written. So a test can start the bot at 09:30 on a chosen
Tuesday without waiting for it, and the product has no way to set its time.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from bot.app import build_application
from bot.cli import check_schema
from bot.settings import load_settings

CLOCK_FILE_VARIABLE = "JOBBOT_TEST_CLOCK_FILE"


class FileClock:
    """Now: the moment in the file plus the real time since the file was written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read: tuple[tuple[int, int], datetime] | None = None

    def now(self) -> datetime:
        stat = self.path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        if self._read is None or self._read[0] != version:
            moment = datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip())
            if moment.tzinfo is None:
                raise ValueError(f"{self.path}: the moment needs a UTC offset")
            self._read = (version, moment)
        elapsed = max(0.0, time.time() - stat.st_mtime_ns / 1e9)
        return self._read[1] + timedelta(seconds=elapsed)


def set_clock(path: Path, moment: datetime) -> None:
    """Write the moment atomically: a bot reading the file never sees half of it."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime")
    draft = path.with_name(path.name + ".new")
    draft.write_text(moment.isoformat(), encoding="utf-8")
    draft.replace(path)


def main() -> int:
    # As bot.cli.main and bot.cli.run do it, with the clock injected.
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL, and the URL holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    settings = load_settings()
    clock = FileClock(Path(os.environ[CLOCK_FILE_VARIABLE]))
    check_schema(settings)
    application = build_application(settings, clock=clock)
    # run_polling owns the event loop and stops cleanly on SIGINT/SIGTERM.
    application.run_polling(allowed_updates=["message", "callback_query"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
