"""Re-planning reminders in the background: recorded requests, chunk by chunk.

A change that reaches many reminders records a request in its own unit of work
(``bot/services/reminders/replan_requests.py``). Right after that commit a task starts
planning it; each chunk is a unit of work of its own through ``runtime.database.run``,
so check-ins and button presses are answered between chunks (SQLite has one database
thread: a chunk is kept to some 50-100 ms). A periodic job resumes requests another
instance left behind or a command-line tool recorded, and the hourly job moves the
check-in horizon on the same way. When the application stops (SIGTERM), the pass stops
after the chunk it is in and hands the request back; whoever starts next resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session
from telegram.ext import Application, ContextTypes

from bot.models import EventKind
from bot.runtime import Runtime
from bot.services.reminders import bulk, replan_requests
from bot.services.reminders.planner import HORIZON_REASON

log = logging.getLogger(__name__)

HORIZON_INTERVAL = timedelta(hours=1)
RESUME_INTERVAL = timedelta(seconds=30)
HORIZON = bulk.Scope.of(None, [EventKind.CHECK_IN])


def real_now() -> datetime:
    # Leases are about processes being alive: real time, never the business clock.
    return datetime.now(UTC)


@dataclass
class DrainReport:
    requests: int = 0  # passes finished
    chunks: int = 0
    created: int = 0
    cancelled: int = 0
    stopped: bool = False  # stopped between chunks, the request handed back


class PlanningWorker:
    """Plans the recorded requests of this process, one pass at a time."""

    def __init__(self, runtime: Runtime, *, name: str | None = None,
                 chunk: int = bulk.CHUNK,
                 should_stop: Callable[[], bool] = lambda: False,
                 spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]] | None = None,
                 clock: Callable[[], datetime] = real_now) -> None:
        self.runtime = runtime
        self.name = name or replan_requests.worker_name()
        self.chunk = chunk
        self.real_now = clock
        self._should_stop = should_stop
        self._spawn = spawn or asyncio.ensure_future
        self._stopping = False
        self._running = asyncio.Lock()
        self._again = False
        self.task: asyncio.Task[Any] | None = None
        self.chunks = 0  # planned by this worker since it started

    def stop(self) -> None:
        """Stop after the chunk in progress (and plan nothing more)."""
        self._stopping = True

    def stopped(self) -> bool:
        return self._stopping or self._should_stop()

    def kick(self) -> None:
        """A request was committed: plan it now, in a task of its own."""
        if self._running.locked():
            self._again = True  # the pass in progress looks again before it ends
            return
        if self.task is None or self.task.done():
            self.task = self._spawn(self.drain())

    async def drain(self) -> DrainReport:
        """Plan every open request this process can claim; returns what was done."""
        report = DrainReport()
        if self._running.locked():
            self._again = True
            return report
        async with self._running:
            while not self.stopped():
                self._again = False
                request_id = await self.runtime.database.run(
                    lambda db: replan_requests.claim(db, self.name, self.real_now()))
                if request_id is None:
                    if self._again:
                        continue
                    break
                if not await self._plan(request_id, report):
                    break  # the periodic job tries again
            report.stopped = self.stopped()
        if report.created:
            self.runtime.wake_dispatcher()
        return report

    async def _plan(self, request_id: int, report: DrainReport) -> bool:
        """Plan one claimed request chunk by chunk; False if it failed (and was handed back)."""
        def step(db: Session) -> replan_requests.Step:
            return replan_requests.advance(db, self.runtime.clock.now(), request_id, self.name,
                                           self.real_now(), size=self.chunk)

        try:
            while not self.stopped():
                # Alone: the people whose check-ins queue meanwhile are not held until the
                # chunk's commit (bot/db.py groups SQLite's units).
                done = await self.runtime.database.run(step, alone=True)
                self.chunks += 1
                report.chunks += 1
                report.created += done.counts.created
                report.cancelled += done.counts.cancelled
                if done.done:
                    report.requests += 1
                    return True
                if done.lost:
                    return True
        except Exception:
            log.exception("re-planning failed; the request is tried again later")
            await self.runtime.database.run(
                lambda db: replan_requests.release(db, request_id, self.name))
            return False
        await self.runtime.database.run(
            lambda db: replan_requests.release(db, request_id, self.name))
        log.info("re-planning stopped between chunks; it goes on at the next start")
        return True


def install(application: Application) -> PlanningWorker:
    """The worker, the start-after-commit hook, the resume job and the hourly horizon."""
    runtime: Runtime = application.bot_data["runtime"]
    queue = application.job_queue
    if queue is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    worker = PlanningWorker(
        runtime, should_stop=lambda: not application.running,
        spawn=lambda work: application.create_task(work, name="replan"))
    application.bot_data["planning_worker"] = worker
    loop = asyncio.get_running_loop()

    def committed(session: Session) -> None:
        # In a database thread, after any commit: start the work on the event loop.
        if replan_requests.recorded_in(session):
            session.info.pop(replan_requests.RECORDED, None)
            # If the loop is closing, the next start resumes the request.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(worker.kick)

    event.listen(runtime.sessions, "after_commit", committed)

    async def horizon(context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            now = runtime.clock.now()
            await runtime.database.run(lambda db: replan_requests.record(
                db, now, HORIZON, HORIZON_REASON, restart=False))
            report = await worker.drain()
            if report.created:
                log.info("planned %d reminders", report.created)
        except Exception:
            log.exception("planning check-in reminders failed; the next run tries again")

    async def resume(context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await worker.drain()
        except Exception:
            log.exception("resuming re-planning failed; the next run tries again")

    application.bot_data["planning_job"] = horizon
    queue.run_repeating(horizon, interval=HORIZON_INTERVAL, first=2, name="reminder-horizon")
    queue.run_repeating(resume, interval=RESUME_INTERVAL, first=RESUME_INTERVAL,
                        name="replan-resume")
    return worker
