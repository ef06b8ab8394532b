"""PostgreSQL's connection pool: a connection the server closed while it rested in the pool
is replaced before a unit of work gets it; one returned moments ago is lent untried."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.db import make_engine, make_session_factory, unit_of_work

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("postgres_migrated")


def _backend(engine) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(make_session_factory(engine)) as db:
        return db.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _pings(engine) -> list[int]:  # type: ignore[no-untyped-def]
    """Counts the dialect's pings on this engine from now on."""
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection):  # type: ignore[no-untyped-def]
        pings.append(1)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted
    return pings


def test_a_connection_the_server_closed_while_resting_is_replaced(postgres_url):
    engine = make_engine(postgres_url, ping_after_idle=0, pool_size=1)
    other = make_engine(postgres_url)
    try:
        first = _backend(engine)
        with other.begin() as connection:  # the server ends the pooled connection's session
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"),
                                      {"pid": first}).scalar_one()
        second = _backend(engine)  # no error: the pool lent a new connection
        assert second != first
    finally:
        engine.dispose()
        other.dispose()


def test_a_connection_returned_moments_ago_is_lent_without_a_round_trip(postgres_url):
    busy = make_engine(postgres_url, ping_after_idle=60, pool_size=1)
    resting = make_engine(postgres_url, ping_after_idle=0, pool_size=1)
    try:
        busy_pings, resting_pings = _pings(busy), _pings(resting)
        for _ in range(3):
            _backend(busy)
            _backend(resting)
        assert busy_pings == [] and len(resting_pings) == 3
    finally:
        busy.dispose()
        resting.dispose()
