"""The dispatcher against the emulated Bot API: 429, 5xx, timeouts and 403; a restart in
the middle of a dispatch; two dispatchers on one database; per-chat pacing; wake-ups."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.db import make_engine, make_session_factory, unit_of_work
from bot.emulator import BotApiEmulator, EmulatorRequest, Fault
from bot.models import OutboxMessage, OutboxStatus, Person, Role
from bot.services.messaging import outbox
from tests import factories
from tests.conftest import local
from tests.reminder_support import Sender, book, enrol, rows, session_at, world


def _people(sessions, clock, count: int) -> list[Person]:  # type: ignore[no-untyped-def]
    """``count`` staff members to send to (no reminders of their own)."""
    now = clock.now()
    with unit_of_work(sessions) as db:
        centre = factories.centre(db, now)
        return [factories.staff(db, now, Role.COACH, centre, name=f"P{n}")
                for n in range(count)]


def _queue(sessions, clock, people: list[Person], per_person: int = 1) -> None:  # type: ignore[no-untyped-def]
    now = clock.now()
    with unit_of_work(sessions) as db:
        for n in range(per_person):
            for person in people:
                outbox.enqueue(db, now, db.get(Person, person.id), "Message {n} for {who}",
                               params={"n": n, "who": person.id})


def _statuses(sessions) -> Counter[str]:  # type: ignore[no-untyped-def]
    with unit_of_work(sessions) as db:
        return Counter(m.status.value for m in db.scalars(select(OutboxMessage)))


async def test_429_is_retried_after_the_time_telegram_asks_for(sessions, clock, database_url):
    [person] = _people(sessions, clock, 1)
    _queue(sessions, clock, [person])
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(person)
        sender.emulator.inject(Fault("429", retry_after=5))
        report = await sender.run()
        assert (report.sent, report.retried) == (0, 1)
        with unit_of_work(sessions) as db:
            [row] = rows(db)
            assert row.due_at == clock.now() + timedelta(seconds=6)
            assert (row.attempts, row.last_error) == (1, "429")
        clock.advance(timedelta(seconds=5))
        assert (await sender.run()).handled == 0  # not yet
        clock.advance(timedelta(seconds=1))
        assert (await sender.run()).sent == 1
        assert sender.texts(person) == ["Message 0 for " + str(person.id)]


async def test_server_errors_and_timeouts_back_off_then_succeed(sessions, clock, database_url):
    [person] = _people(sessions, clock, 1)
    _queue(sessions, clock, [person])
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(person)
        sender.emulator.inject(Fault("5xx"))
        sender.emulator.inject(Fault("timeout"))
        assert (await sender.run()).retried == 1  # 502
        clock.advance(timedelta(seconds=5))
        assert (await sender.run()).retried == 1  # timed out: waits twice as long
        clock.advance(timedelta(seconds=9))
        assert (await sender.run()).handled == 0
        clock.advance(timedelta(seconds=1))
        assert (await sender.run()).sent == 1
    with unit_of_work(sessions) as db:
        [row] = rows(db, status=OutboxStatus.SENT)
        assert row.attempts == 3 and row.last_error is None
    assert len(sender.texts(person)) == 1


async def test_a_row_that_keeps_failing_is_given_up_with_the_error(sessions, clock,
                                                                  database_url):
    [person] = _people(sessions, clock, 1)
    _queue(sessions, clock, [person])
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(person)
        sender.emulator.inject(Fault("5xx", times=outbox.MAX_ATTEMPTS))
        for _ in range(outbox.MAX_ATTEMPTS):
            await sender.run()
            clock.advance(timedelta(hours=1))
    with unit_of_work(sessions) as db:
        [row] = rows(db, status=OutboxStatus.FAILED)
        assert row.attempts == outbox.MAX_ATTEMPTS and row.last_error == "NetworkError"


async def test_blocked_bot_marks_the_aspirant_unreachable_and_alerts_the_coach(sessions, clock,
                                                                             database_url):
    now = clock.now()
    with unit_of_work(sessions) as db:
        w = world(db, now)
        amina, _ = enrol(db, now, w)
        book(db, now, amina, session_at(db, now, w, local(2026, 3, 5, 10, 0)))
    clock.set(local(2026, 3, 4, 10, 0))  # the day-before reminder is due
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(amina, w.coach)
        sender.emulator.user_blocks_bot(amina.chat_id)
        report = await sender.run()
        assert report.failed == 1
        assert any("can no longer be reached" in text and "Amina" in text
                   for text in sender.texts(w.coach))
    with unit_of_work(sessions) as db:
        assert db.get(Person, amina.id).unreachable_at == clock.now()
        assert [r.last_error for r in rows(db, status=OutboxStatus.FAILED)] == ["403"]
        # Her remaining reminder is stopped, with the reason.
        [stopped] = rows(db, status=OutboxStatus.CANCELLED, recipient=amina)
        assert stopped.skip_reason == "unreachable"


class HangingRequest(EmulatorRequest):
    """Answers ``answers`` sends, then never answers again: the process dies meanwhile."""

    def __init__(self, emulator: BotApiEmulator, answers: int) -> None:
        super().__init__(emulator)
        self.answers = answers
        self.hanging = asyncio.Event()

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        if url.endswith("/sendMessage"):
            if self.answers <= 0:
                self.hanging.set()
                await asyncio.Event().wait()
            self.answers -= 1
        return await super().do_request(url, method, request_data, *args, **kwargs)


async def test_a_restart_in_the_middle_of_a_dispatch_loses_nothing(sessions, clock,
                                                                  database_url):
    people = _people(sessions, clock, 10)
    _queue(sessions, clock, people)
    emulator = BotApiEmulator()
    hanging = HangingRequest(emulator, answers=4)
    async with Sender(sessions, clock, database_url, worker="dies", emulator=emulator,
                      request=hanging, concurrency=1) as first:
        first.know(*people)
        run = asyncio.create_task(first.run())
        await hanging.hanging.wait()
        run.cancel()  # the process is killed while the fifth message is in flight
        await asyncio.gather(run, return_exceptions=True)
    assert _statuses(sessions) == {"sent": 4, "sending": 6}
    async with Sender(sessions, clock, database_url, worker="restarted",
                      emulator=emulator) as second:
        # The dead worker's claims are respected until they time out ...
        assert (await second.run()).handled == 0
        clock.advance(outbox.CLAIM_TIMEOUT)
        # ... then released, and every message goes out exactly once.
        assert (await second.run()).sent == 6
    assert _statuses(sessions) == {"sent": 10}
    texts = Counter(text for person in people for text in second.texts(person))
    assert len(texts) == 10 and set(texts.values()) == {1}


def test_two_dispatchers_on_one_database_never_send_a_row_twice(sessions, clock, database_url):
    people = _people(sessions, clock, 40)
    _queue(sessions, clock, people, per_person=5)
    senders: list[Sender] = []
    start = threading.Barrier(2)

    def run(worker: str) -> None:
        # Each instance with its own connections and its own Bot API.
        engine = make_engine(database_url)
        try:
            async def go() -> None:
                async with Sender(make_session_factory(engine), clock, database_url,
                                  worker=worker, batch_size=15) as sender:
                    sender.know(*people)
                    senders.append(sender)
                    start.wait(timeout=30)  # both begin claiming at the same moment
                    await sender.run()
            asyncio.run(go())
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run, args=(f"instance-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert _statuses(sessions) == {"sent": 200}
    delivered = Counter(text for sender in senders for person in people
                        for text in sender.texts(person))
    assert len(delivered) == 200 and set(delivered.values()) == {1}
    with unit_of_work(sessions) as db:
        workers = Counter(m.claimed_by for m in db.scalars(select(OutboxMessage)))
    assert sum(workers.values()) == 200


async def test_one_message_a_second_per_chat(sessions, clock, database_url):
    busy, other = _people(sessions, clock, 2)
    _queue(sessions, clock, [busy], per_person=3)
    _queue(sessions, clock, [other])
    async with Sender(sessions, clock, database_url, chat_interval=0.05) as sender:
        sender.know(busy, other)
        assert (await sender.run()).sent == 4
        calls = [c for c in sender.emulator.calls if c.method == "sendMessage"]
    to_busy = [c.at for c in calls if c.params["chat_id"] == busy.chat_id]
    assert all(b - a >= 0.045 for a, b in itertools.pairwise(to_busy))
    # Another chat does not wait behind the busy one.
    to_other = next(c.at for c in calls if c.params["chat_id"] == other.chat_id)
    assert to_other < to_busy[-1]
    assert sender.texts(busy) == [f"Message {n} for {busy.id}" for n in range(3)]


async def test_the_scheduler_wakes_the_dispatcher_at_the_next_due_time(harness):
    from scheduler import jobs

    application = harness.app
    jobs.install(application)
    queue = application.job_queue
    await queue.start()
    try:
        assert {"dispatch-safety", "reminder-horizon"} <= {job.name for job in queue.jobs()}
        now = harness.clock.now()
        [person] = _people(harness.runtime.sessions, harness.clock, 1)
        with harness.db() as db:
            outbox.enqueue(db, now, db.get(Person, person.id), "Later",
                           due_at=now + timedelta(minutes=10))
        before = datetime.now(UTC)
        # The job hands sending to a task of its own, so the job queue goes on meanwhile.
        task = await application.bot_data["dispatch_job"](None)
        await task
        [wake] = queue.get_jobs_by_name("dispatch-next")
        assert timedelta(minutes=9) < wake.next_t - before <= timedelta(minutes=10, seconds=1)
        # The hourly planning job plans check-in reminders with the injected clock.
        await application.bot_data["planning_job"](None)
    finally:
        await queue.stop(wait=False)

