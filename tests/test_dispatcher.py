"""The dispatcher against the emulated Bot API: 429, 5xx, timeouts, 400 and 403; a sender
stopped or crashed mid-run; leases in real time and fencing; two dispatchers on one
database; per-chat pacing; wake-ups."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.db import make_engine, make_session_factory, unit_of_work
from bot.emulator import BotApiEmulator, EmulatorRequest, Fault
from bot.models import OutboxMessage, OutboxStatus, Person, Role
from bot.services.messaging import claims, outbox
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


async def test_429_is_waited_out_without_using_up_an_attempt(sessions, clock, database_url):
    [person] = _people(sessions, clock, 1)
    _queue(sessions, clock, [person])
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(person)
        sender.emulator.inject(Fault("429", retry_after=5, times=3))
        report = await sender.run()
        assert (report.sent, report.retried, report.throttled) == (1, 0, 3)
        # It waited at least as long as Telegram asked, each time, then sent again.
        assert len(sender.pauses) == 3 and all(5 <= p < 6 for p in sender.pauses)
        assert sender.texts(person) == ["Message 0 for " + str(person.id)]
    with unit_of_work(sessions) as db:
        [row] = rows(db, status=OutboxStatus.SENT)
        assert (row.attempts, row.last_error) == (1, None)


async def test_a_long_429_puts_the_row_back_for_that_long(sessions, clock, database_url):
    [person] = _people(sessions, clock, 1)
    _queue(sessions, clock, [person])
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(person)
        sender.emulator.inject(Fault("429", retry_after=120))
        report = await sender.run()
        assert (report.sent, report.retried) == (0, 1)
        with unit_of_work(sessions) as db:
            [row] = rows(db)
            assert row.due_at == clock.now() + timedelta(seconds=120)
            assert (row.attempts, row.last_error) == (0, "429")  # no attempt used up
        clock.advance(timedelta(seconds=119))
        assert (await sender.run()).handled == 0  # not yet
        clock.advance(timedelta(seconds=1))
        assert (await sender.run()).sent == 1


async def test_server_errors_and_timeouts_back_off_with_jitter(sessions, clock, database_url):
    [person] = _people(sessions, clock, 1)
    _queue(sessions, clock, [person])
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(person)
        sender.emulator.inject(Fault("5xx"))
        sender.emulator.inject(Fault("timeout"))
        assert (await sender.run()).retried == 1  # 502
        with unit_of_work(sessions) as db:
            [row] = rows(db)
            # About 5 s, give or take a fifth, so that retries do not come in waves.
            assert timedelta(seconds=4) <= row.due_at - clock.now() <= timedelta(seconds=6)
            assert row.last_error == "HTTP 502"
            clock.set(row.due_at)
        assert (await sender.run()).retried == 1  # timed out: waits about twice as long
        with unit_of_work(sessions) as db:
            [row] = rows(db)
            assert timedelta(seconds=8) <= row.due_at - clock.now() <= timedelta(seconds=12)
            assert row.last_error == "TimedOut"
            clock.set(row.due_at)
        assert (await sender.run()).sent == 1
    with unit_of_work(sessions) as db:
        [row] = rows(db, status=OutboxStatus.SENT)
        assert row.attempts == 3 and row.last_error is None
    assert len(sender.texts(person)) == 1


async def test_server_errors_never_give_a_message_up(sessions, clock, database_url):
    """Only "the message is wrong" (400) or "the person is gone" (403) end a row: a long
    Telegram outage delays the message, at most an hour between tries, and it arrives."""
    [person] = _people(sessions, clock, 1)
    _queue(sessions, clock, [person])
    failures = outbox.MAX_ATTEMPTS + 4
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(person)
        sender.emulator.inject(Fault("5xx", times=failures))
        for _ in range(failures):
            assert (await sender.run()).retried == 1
            with unit_of_work(sessions) as db:
                [row] = rows(db)
                assert row.due_at - clock.now() <= timedelta(hours=1.2)
                clock.set(row.due_at)
        assert (await sender.run()).sent == 1
    with unit_of_work(sessions) as db:
        [row] = rows(db, status=OutboxStatus.SENT)
        assert row.attempts == failures + 1
    assert len(sender.texts(person)) == 1


async def test_a_message_telegram_calls_wrong_is_given_up_once(sessions, clock, database_url):
    [person] = _people(sessions, clock, 1)
    _queue(sessions, clock, [person])
    async with Sender(sessions, clock, database_url) as sender:
        sender.know(person)
        sender.emulator.inject(Fault("400"))
        report = await sender.run()
        assert (report.failed, report.errors) == (1, ["400 Can't parse entities"])
    with unit_of_work(sessions) as db:
        [row] = rows(db, status=OutboxStatus.FAILED)
        assert row.attempts == 1 and row.params == {}


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
        # The coach's notice was queued by the 403 and goes out in the same run.
        assert any("can no longer be reached" in text and "Amina" in text
                   for text in sender.texts(w.coach))
    with unit_of_work(sessions) as db:
        assert db.get(Person, amina.id).unreachable_at == clock.now()
        assert [r.last_error for r in rows(db, status=OutboxStatus.FAILED)] == ["403"]
        # Her remaining reminder is stopped, with the reason.
        [stopped] = rows(db, status=OutboxStatus.CANCELLED, recipient=amina)
        assert stopped.skip_reason == "unreachable"


async def test_a_blocked_person_gets_exactly_one_call(sessions, clock, database_url):
    people = _people(sessions, clock, 6)
    blocked = people[2]
    _queue(sessions, clock, people, per_person=4)
    async with Sender(sessions, clock, database_url, batch_size=50) as sender:
        sender.know(*people)
        sender.emulator.user_blocks_bot(blocked.chat_id)
        report = await sender.run()
    calls = [c for c in sender.emulator.calls
             if c.method == "sendMessage" and c.params["chat_id"] == blocked.chat_id]
    assert [c.status for c in calls] == [403]
    assert (report.sent, report.failed) == (20, 1)
    with unit_of_work(sessions) as db:
        theirs = Counter(r.status.value for r in rows(db, status=None, recipient=blocked))
        assert theirs == {"failed": 1, "cancelled": 3}
    for person in people:
        if person is not blocked:
            assert sender.texts(person) == [f"Message {n} for {person.id}" for n in range(4)]


class HangingRequest(EmulatorRequest):
    """Answers ``answers`` sends, then hangs until released (or the process dies)."""

    def __init__(self, emulator: BotApiEmulator, answers: int) -> None:
        super().__init__(emulator)
        self.answers = answers
        self.hanging = asyncio.Event()
        self._released = asyncio.Event()

    def release(self) -> None:
        self._released.set()

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        if url.endswith("/sendMessage"):
            if self.answers <= 0 and not self._released.is_set():
                self.hanging.set()
                await self._released.wait()
            self.answers -= 1
        return await super().do_request(url, method, request_data, *args, **kwargs)


def _lapse_leases(sessions) -> None:  # type: ignore[no-untyped-def]
    """Let the leases run out, as LEASE_SECONDS of real time would."""
    with unit_of_work(sessions) as db:
        db.execute(update(OutboxMessage).where(OutboxMessage.lease_until.is_not(None))
                   .values(lease_until=OutboxMessage.lease_until - claims.LEASE_SECONDS - 1))


async def test_a_sender_stopped_mid_run_loses_nothing(sessions, clock, database_url):
    people = _people(sessions, clock, 10)
    _queue(sessions, clock, people)
    emulator = BotApiEmulator()
    hanging = HangingRequest(emulator, answers=4)
    async with Sender(sessions, clock, database_url, worker="dies", emulator=emulator,
                      request=hanging, concurrency=1) as first:
        first.know(*people)
        run = asyncio.create_task(first.run())
        await hanging.hanging.wait()
        run.cancel()  # stopped while the fifth message is in flight
        await asyncio.gather(run, return_exceptions=True)
    # What it had claimed but not begun to send went straight back to the queue; the
    # message in flight keeps its lease: it may have reached Telegram.
    assert _statuses(sessions) == {"sent": 4, "pending": 5, "sending": 1}
    async with Sender(sessions, clock, database_url, worker="restarted",
                      emulator=emulator) as second:
        assert (await second.run()).sent == 5
        # Moving the bot's clock on (the sandbox does) does not release a lease: it runs
        # in real time.
        clock.advance(timedelta(days=3))
        assert (await second.run()).handled == 0
        _lapse_leases(sessions)
        assert (await second.run()).sent == 1
    assert _statuses(sessions) == {"sent": 10}
    texts = Counter(text for person in people for text in second.texts(person))
    assert len(texts) == 10 and set(texts.values()) == {1}


async def test_a_crashed_senders_rows_go_out_right_after_its_lease_lapses(sessions, clock,
                                                                         database_url):
    from scheduler.jobs import next_wake

    people = _people(sessions, clock, 3)
    _queue(sessions, clock, people)
    with unit_of_work(sessions) as db:  # a sender claims them, then its process is killed
        crashed = claims.claim(db, now=clock.now(), token="crashed/1", limit=10)
        assert len(crashed.messages) == 3
    with unit_of_work(sessions) as db:
        # The dispatcher is woken when the lease lapses, in seconds, not minutes.
        wake = next_wake(db, clock.now())
        assert claims.LEASE_SECONDS - 2 < wake <= claims.LEASE_SECONDS + 1
    async with Sender(sessions, clock, database_url, worker="survivor") as survivor:
        survivor.know(*people)
        assert (await survivor.run()).handled == 0
        _lapse_leases(sessions)
        assert (await survivor.run()).sent == 3
    assert all(len(survivor.texts(person)) == 1 for person in people)


async def test_moving_the_clock_forward_never_resends_a_claimed_row(sessions, clock,
                                                                   database_url):
    [person] = _people(sessions, clock, 1)
    _queue(sessions, clock, [person])
    emulator = BotApiEmulator()
    slow = HangingRequest(emulator, answers=0)
    async with Sender(sessions, clock, database_url, worker="slow", emulator=emulator,
                      request=slow) as first:
        first.know(person)
        run = asyncio.create_task(first.run())
        await slow.hanging.wait()  # Telegram takes its time answering
        clock.advance(timedelta(hours=6))  # the sandbox moves the clock meanwhile
        async with Sender(sessions, clock, database_url, worker="other",
                          emulator=emulator) as other:
            assert (await other.run()).handled == 0
        slow.release()
        assert (await run).sent == 1
    assert first.texts(person) == [f"Message 0 for {person.id}"]
    with unit_of_work(sessions) as db:
        [row] = rows(db, status=OutboxStatus.SENT)
        assert row.attempts == 1


async def test_an_outcome_is_not_recorded_over_a_lease_taken_over(sessions, clock,
                                                                  database_url, caplog):
    """Fencing: a sender whose lease lapsed (it lost the database for too long) does not
    record over what the sender that took the row over did, and says so."""
    [person] = _people(sessions, clock, 1)
    _queue(sessions, clock, [person])
    emulator = BotApiEmulator()
    slow = HangingRequest(emulator, answers=0)
    async with Sender(sessions, clock, database_url, worker="slow", emulator=emulator,
                      request=slow) as first:
        first.know(person)
        run = asyncio.create_task(first.run())
        await slow.hanging.wait()
        _lapse_leases(sessions)
        async with Sender(sessions, clock, database_url, worker="other",
                          emulator=emulator) as other:
            assert (await other.run()).sent == 1
        with unit_of_work(sessions) as db:
            [row] = rows(db, status=OutboxStatus.SENT)
            taken = (row.claimed_by, row.telegram_message_id)
        slow.release()
        report = await run
    assert (report.sent, report.lost) == (0, 1)
    with unit_of_work(sessions) as db:
        [row] = rows(db, status=OutboxStatus.SENT)
        assert (row.claimed_by, row.telegram_message_id) == taken
    assert "1 outcomes not recorded" in caplog.text and "now sent" in caplog.text


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
    finally:
        await queue.stop(wait=False)


async def test_a_message_queued_during_a_run_goes_out_in_that_run(sessions, clock,
                                                                  database_url):
    first, second = _people(sessions, clock, 2)
    _queue(sessions, clock, [first])
    emulator = BotApiEmulator()
    slow = HangingRequest(emulator, answers=0)
    async with Sender(sessions, clock, database_url, emulator=emulator, request=slow) as sender:
        sender.know(first, second)
        run = asyncio.create_task(sender.run())
        await slow.hanging.wait()  # the run is sending
        _queue(sessions, clock, [second])  # a handler queues a notice meanwhile
        sender.dispatcher.nudge()  # (the scheduler's wake-up while a run is in progress)
        slow.release()
        report = await run
    assert report.sent == 2
    assert sender.texts(second) == [f"Message 0 for {second.id}"]


def test_a_due_message_waiting_for_a_busy_chat_is_looked_at_again_in_a_second(
        sessions, clock):
    from scheduler.jobs import next_wake

    [person] = _people(sessions, clock, 1)
    _queue(sessions, clock, [person], per_person=2)
    with unit_of_work(sessions) as db:
        claims.claim(db, now=clock.now(), token="busy/1", limit=10)  # takes one of the two
    with unit_of_work(sessions) as db:
        assert next_wake(db, clock.now()) == 1.0


async def test_a_waiting_reply_goes_before_a_backlog_of_reminders(sessions, clock, database_url):
    people = _people(sessions, clock, 12)
    waiting, others = people[0], people[1:]
    _queue(sessions, clock, others)
    clock.advance(timedelta(minutes=5))  # the reply was decided after the reminders fell due
    with unit_of_work(sessions) as db:
        outbox.enqueue_reply(db, clock.now(), chat_id=waiting.chat_id, person_id=waiting.id,
                             text="Your answer, which Telegram did not take in time")
    async with Sender(sessions, clock, database_url, batch_size=3, concurrency=1) as sender:
        sender.know(*people)
        assert (await sender.run()).sent == 12
    first = next(c for c in sender.emulator.calls if c.method == "sendMessage")
    assert first.params["chat_id"] == waiting.chat_id
