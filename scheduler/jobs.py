"""APScheduler (through python-telegram-bot's JobQueue) wakes the dispatcher.

One job runs at a short safety interval; another is scheduled for the next due
row (or the moment a lapsed lease frees a crashed sender's rows, in real time), and
any handler that queues a message asks for an immediate run, or nudges the one in
progress. Reminder planning has jobs of its own (planning_jobs.py). The clock that
decides what is due is the injected one, so the sandbox can move time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from telegram.ext import Application, ContextTypes

from bot.logsafe import describe_error
from bot.runtime import Runtime
from bot.services.messaging import claims, outbox
from bot.services.people import retention
from scheduler import attendance_jobs, planning_jobs
from scheduler.dispatcher import CHAT_INTERVAL, Dispatcher

log = logging.getLogger(__name__)

SAFETY_INTERVAL = timedelta(seconds=30)
RETENTION_INTERVAL = timedelta(hours=6)
_WAKE_JOB = "dispatch-wake"
_NEXT_JOB = "dispatch-next"


def install(application: Application) -> Dispatcher:
    runtime: Runtime = application.bot_data["runtime"]
    queue = application.job_queue
    if queue is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    dispatcher = Dispatcher(application.bot, runtime)
    application.bot_data["dispatcher"] = dispatcher

    async def send_due() -> None:
        try:
            await dispatcher.run()
        except Exception:
            log.exception("dispatch failed; the rows stay queued")
        try:
            await _schedule_next(application, runtime)
        except Exception as error:
            log.warning("the next dispatch could not be planned (%s); the routine look "
                        "every %d s catches up", describe_error(error),
                        SAFETY_INTERVAL.total_seconds())

    async def dispatch(context: ContextTypes.DEFAULT_TYPE) -> asyncio.Task[None] | None:
        if dispatcher.running:
            dispatcher.nudge()  # the run in progress claims what was just queued
            return None
        # Sending can take minutes: it runs as a task of its own, so the job queue goes on.
        # Not the application's task list: on shutdown the dispatcher is stopped (and
        # puts back what it has not sent) instead of being waited for to the end.
        task = asyncio.get_running_loop().create_task(send_due(), name="dispatch")
        dispatcher.task = task
        return task

    application.bot_data["dispatch_job"] = dispatch
    queue.run_repeating(dispatch, interval=SAFETY_INTERVAL, first=1, name="dispatch-safety")

    def wake() -> None:
        queue.run_once(dispatch, when=0, name=_WAKE_JOB)

    runtime.wake_dispatcher = wake

    async def retain(context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            now = runtime.clock.now()
            erased = await runtime.database.run(lambda db: retention.erase_expired(db, now))
        except Exception:
            log.exception("retention run failed; the next run tries again")
            return
        if erased:
            log.info("erased %d people after the retention period", erased)

    queue.run_repeating(retain, interval=RETENTION_INTERVAL, first=60, name="retention")

    planning_jobs.install(application)
    attendance_jobs.install(application)
    return dispatcher


def next_wake(db: Session, now: datetime) -> float | None:
    """Seconds (real time) until the dispatcher should look again, if before the routine
    look: the next due row, a due row that waits for a busy chat, or a lease that lapses
    (a crashed sender's rows are then sent at once, not minutes later)."""
    delays = []
    due = outbox.next_due_at(db)
    if due is not None:
        until_due = (due - now).total_seconds()
        delays.append(until_due if until_due > 0 else CHAT_INTERVAL)
    lease_end = claims.next_lease_end(db)
    if lease_end is not None:
        delays.append(max(0.0, lease_end - claims.real_now(db)) + 0.5)
    return max(0.5, min(delays)) if delays else None


async def _schedule_next(application: Application, runtime: Runtime) -> None:
    queue = application.job_queue
    if queue is None:
        return
    now = runtime.clock.now()
    delay = await runtime.database.run(lambda db: next_wake(db, now))
    if delay is None:
        return
    # The wake-up is in real time; a clock moved by the sandbox is caught by the safety job.
    for job in queue.get_jobs_by_name(_NEXT_JOB):
        job.schedule_removal()
    queue.run_once(application.bot_data["dispatch_job"], when=delay, name=_NEXT_JOB)
