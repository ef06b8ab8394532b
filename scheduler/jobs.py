"""APScheduler (through python-telegram-bot's JobQueue) wakes the dispatcher.

One job runs at a short safety interval; another is scheduled for the next due
row, and any handler that queues a message asks for an immediate run. The clock
that decides what is due is the injected one, so the sandbox can move time.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import Application, ContextTypes

from bot.db import unit_of_work
from bot.runtime import Runtime
from bot.services import outbox
from scheduler.dispatcher import Dispatcher

log = logging.getLogger(__name__)

SAFETY_INTERVAL = timedelta(seconds=30)
_WAKE_JOB = "dispatch-wake"


def install(application: Application) -> Dispatcher:
    runtime: Runtime = application.bot_data["runtime"]
    dispatcher = Dispatcher(application.bot, runtime)
    application.bot_data["dispatcher"] = dispatcher
    queue = application.job_queue
    if queue is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")

    async def dispatch(context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await dispatcher.run()
        except Exception:
            log.exception("dispatch failed; the rows stay queued")
        _schedule_next(application, runtime)

    application.bot_data["dispatch_job"] = dispatch
    queue.run_repeating(dispatch, interval=SAFETY_INTERVAL, first=1, name="dispatch-safety")

    def wake() -> None:
        queue.run_once(dispatch, when=0, name=_WAKE_JOB)

    runtime.wake_dispatcher = wake
    return dispatcher


def _schedule_next(application: Application, runtime: Runtime) -> None:
    queue = application.job_queue
    if queue is None:
        return
    with unit_of_work(runtime.sessions) as db:
        due = outbox.next_due_at(db)
    if due is None:
        return
    delay = (due - runtime.clock.now()).total_seconds()
    if 0 < delay < SAFETY_INTERVAL.total_seconds():
        for job in queue.get_jobs_by_name("dispatch-next"):
            job.schedule_removal()
        queue.run_once(application.bot_data["dispatch_job"], when=delay, name="dispatch-next")
