"""SQLite commits the units that waited their turn together (bot/db.py): one transaction,
each unit in a savepoint and a session of its own. What a person would notice if that
went wrong: a refused action that still changed something, one person's failure undoing
another's check-in, a decision made on a copy another unit had already changed, or an
answer sent before what it says was committed."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.db import MAX_GROUP, DatabaseRunner, make_engine, make_session_factory
from bot.errors import DomainError
from bot.models import Person
from bot.services.attendance import centre_facts
from bot.services.attendance import policy as attendance_policy
from bot.services.people import people
from tests import factories


@pytest.fixture
def runner(sqlite_url: str):
    engine = make_engine(sqlite_url)
    sessions = make_session_factory(engine)
    runner = DatabaseRunner(sessions)
    yield runner, sessions
    runner.shutdown()
    engine.dispose()


def _person(sessions: sessionmaker[Session], clock: Any, name: str) -> int:
    with sessions.begin() as db:
        user_id = 700_000 + sum(map(ord, name))
        return people.create_person(db, clock.now(), telegram_user_id=user_id,
                                    chat_id=user_id, language="sv", display_name=name).id


async def _grouped(runner: DatabaseRunner, *works: Any, alone: tuple[int, ...] = ()
                   ) -> list[Any]:
    """Run ``works`` as they would queue up: all asked for while the worker is busy (the
    ones at the positions in ``alone`` asked to commit by themselves)."""
    busy, free = threading.Event(), threading.Event()

    def hold(db: Session) -> None:
        busy.set()
        free.wait(10)

    first = asyncio.ensure_future(runner.run(hold))
    await asyncio.get_running_loop().run_in_executor(None, busy.wait, 10)
    tasks = [asyncio.ensure_future(runner.run(work, alone=n in alone))
             for n, work in enumerate(works)]
    await asyncio.sleep(0)  # every unit is queued before the worker is free
    free.set()
    await first
    return await asyncio.gather(*tasks, return_exceptions=True)


def _group_sizes(runner: DatabaseRunner) -> list[int]:
    """The size of each group the runner commits from now on."""
    sizes: list[int] = []
    original = runner._commit_group

    def counting(works: list[Any]) -> Any:
        sizes.append(len(works))
        return original(works)

    runner._commit_group = counting  # type: ignore[method-assign]
    return sizes


async def test_a_failing_unit_is_undone_alone_and_the_others_commit(runner, clock):
    runner, sessions = runner
    ids = [_person(sessions, clock, name) for name in ("Amina", "Erik", "Sven")]

    def rename(person_id: int, name: str, refuse: bool = False):
        def work(db: Session) -> str:
            db.get_one(Person, person_id).display_name = name
            db.flush()
            if refuse:
                raise DomainError("refused after writing")
            return name
        return work

    def refuse_then_explain(db: Session) -> str:
        # As a handler does with a refused action: undo what it began, then write what
        # it says instead.
        db.get_one(Person, ids[1]).display_name = "never"
        db.flush()
        db.rollback()
        db.get_one(Person, ids[1]).language = "fa"
        return "explained"

    results = await _grouped(runner, rename(ids[0], "A2"), rename(ids[1], "E2", refuse=True),
                             refuse_then_explain, rename(ids[2], "S2"))
    assert results[0] == "A2" and results[2] == "explained" and results[3] == "S2"
    assert isinstance(results[1], DomainError)
    with sessions() as db:
        found = {p.id: (p.display_name, p.language) for p in db.scalars(select(Person))}
    assert [found[i] for i in ids] == [("A2", "sv"), ("Erik", "fa"), ("S2", "sv")]


async def test_each_unit_reads_what_the_units_before_it_wrote(runner, clock):
    runner, sessions = runner
    [person_id] = [_person(sessions, clock, "Amina")]

    def load(db: Session) -> str:
        return db.get_one(Person, person_id).language

    def change_behind_the_orm(db: Session) -> None:
        # A Core UPDATE: objects another unit loaded are not told.
        db.execute(update(Person).where(Person.id == person_id).values(language="ar"))

    results = await _grouped(runner, load, change_behind_the_orm, load)
    assert results[0] != "ar" and results[2] == "ar"


async def test_no_unit_is_answered_before_the_group_has_committed(runner, clock):
    runner, sessions = runner
    person_id = _person(sessions, clock, "Amina")
    seen: list[str] = []

    def write(db: Session) -> None:
        db.get_one(Person, person_id).display_name = "Committed"

    def look_from_outside(db: Session) -> None:
        # Another process reading the file sees nothing of the group yet.
        path = sessions.kw["bind"].url.database
        with contextlib.closing(sqlite3.connect(path)) as other:
            seen.append(other.execute("SELECT display_name FROM person WHERE id = ?",
                                      (person_id,)).fetchone()[0])

    results = await _grouped(runner, write, look_from_outside)
    assert seen == ["Amina"], results
    with sessions() as db:
        assert db.get_one(Person, person_id).display_name == "Committed"


async def test_a_transaction_lost_mid_group_fails_every_unit_of_it(runner, clock):
    runner, sessions = runner
    person_id = _person(sessions, clock, "Amina")

    def write(db: Session) -> str:
        db.get_one(Person, person_id).display_name = "Lost"
        return "done"

    def disk_full(db: Session) -> None:
        # What SQLite does on a full disk or an I/O error: it rolls the whole transaction
        # back, the writes of the units before this one included.
        db.connection().exec_driver_sql("ROLLBACK")
        raise OSError("disk full")

    def after(db: Session) -> str:
        db.get_one(Person, person_id).language = "ar"
        return "done"

    results = await _grouped(runner, write, disk_full, after)
    # Nobody is told "done" for what is not in the database.
    assert all(isinstance(result, Exception) for result in results), results
    with sessions() as db:
        person = db.get_one(Person, person_id)
        assert (person.display_name, person.language) == ("Amina", "sv")


async def test_groups_are_bounded(runner, clock):
    runner, _sessions = runner
    sizes = _group_sizes(runner)
    await _grouped(runner, *[(lambda db: None)] * (MAX_GROUP + 5))
    assert max(sizes) == MAX_GROUP and sum(sizes) == MAX_GROUP + 5 + 1


async def test_a_long_unit_commits_alone(runner, clock):
    runner, _sessions = runner
    sizes = _group_sizes(runner)
    works = [lambda db: None] * 3 + [lambda db: "chunk"] + [lambda db: None] * 2
    results = await _grouped(runner, *works, alone=(3,))
    assert results[3] == "chunk"
    # The unit that held the worker, the three quick units, the chunk by itself, then
    # the two after it.
    assert sizes == [1, 3, 1, 2]


async def test_a_centres_facts_are_read_once_across_groups(runner, clock):
    """A check-in reads its centre's policy and calendar from the process's cache, also
    when its session is bound to a group's connection (one read, not one per group)."""
    runner, sessions = runner
    now = clock.now()
    with sessions.begin() as db:
        centre_id = factories.centre(db, now).id
        attendance_policy.policy_for(db, now, centre_id)
        version = centre_facts.version_of(db, centre_id)

    def read(db: Session) -> Any:
        return centre_facts.facts(db, now, centre_id, version)

    first = await _grouped(runner, read, read)
    again = await _grouped(runner, read)
    assert first[0] is first[1] is again[0]
