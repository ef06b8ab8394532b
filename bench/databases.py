"""A fresh, migrated database for a benchmark run."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from bot.db import make_engine, upgrade
from bot.models import Base


def fresh_database(url: str | None, workdir: str | Path, name: str = "bench") -> str:
    """A new SQLite file ``name`` in ``workdir`` unless ``url`` is given; a PostgreSQL
    database named by ``url`` is migrated and emptied, keeping what the migrations put in
    (the one sending budget), so it is as a new one would be."""
    if url is None:
        url = f"sqlite:///{Path(workdir) / name}.sqlite3"
        upgrade(url)
        return url
    upgrade(url)
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(text("INSERT INTO send_budget (name) VALUES ('telegram')"))
    engine.dispose()
    return url
