"""A long fuzz run: thousands of random update sequences through the real bot.

The same property as tests/test_fuzz.py (no exception escapes a handler, the log holds no
error or traceback, Telegram would take every call, an ordinary /help is still answered),
with many more examples. On failure Hypothesis prints the smallest sequence it found.

    .venv/bin/python bench/fuzz_updates.py --examples 5000
    .venv/bin/python bench/fuzz_updates.py --examples 2000 --database-url postgresql+psycopg://…

A PostgreSQL URL names a server where the user may create databases; a database of its
own is created for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import make_url, text

from bot.db import make_engine, upgrade
from tests.fuzz_support import fuzz_bot, property_for


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            path = f"sqlite:///{folder}/fuzz.sqlite3"
            upgrade(path)
            yield path
        return
    name = f"jobbot_fuzz_{uuid.uuid4().hex[:8]}"
    server = make_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    own = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(own)
        yield own
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server (default: "
                        "a temporary SQLite file)")
    args = parser.parse_args()
    with database(args.database_url) as url, fuzz_bot(url) as bot:
        started = time.perf_counter()
        property_for(bot, args.examples)()
        seconds = time.perf_counter() - started
    actions = sum(bot.stats.values())
    print(f"{args.examples} sequences, {actions} actions in {seconds:.1f} s "
          f"({actions / seconds:.0f} actions/s): no failure")
    for kind, count in sorted(bot.stats.items(), key=lambda item: -item[1]):
        print(f"  {kind:<13} {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
