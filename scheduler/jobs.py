"""APScheduler (through python-telegram-bot's JobQueue) wakes the dispatcher.

One job runs at a short safety interval; another is scheduled for the next due
row, and any handler that queues a message asks for an immediate run. Reminder
planning has jobs of its own (planning_jobs.py). The clock that decides what is
due is the injected one, so the sandbox can move time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram.ext import Application, ContextTypes

from bot.runtime import Runtime
from bot.services.messaging import outbox
from bot.services.people import retention
from scheduler import attendance_jobs, planning_jobs
from scheduler.dispatcher import Dispatcher

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
            await _schedule_next(application, runtime)
        except Exception:
            log.exception("dispatch failed; the rows stay queued")

    async def dispatch(context: ContextTypes.DEFAULT_TYPE) -> asyncio.Task[None] | None:
        # Sending can take minutes: it runs as a task of its own, so the job queue goes on.
        if dispatcher.running:
            return None
        return application.create_task(send_due(), name="dispatch")

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


async def _schedule_next(application: Application, runtime: Runtime) -> None:
    queue = application.job_queue
    if queue is None:
        return
    due = await runtime.database.run(outbox.next_due_at)
    if due is None:
        return
    # The wake-up is in real time; a clock moved by the sandbox is caught by the safety job.
    delay = max(1.0, (due - runtime.clock.now()).total_seconds())
    for job in queue.get_jobs_by_name(_NEXT_JOB):
        job.schedule_removal()
    queue.run_once(application.bot_data["dispatch_job"], when=delay, name=_NEXT_JOB)
