"""Asks the attendance service, every minute, what is due now (digests, absences, resends).

The service decides what; this job only decides when. It uses the injected
clock, so the sandbox's time control and the tests move it too.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import Application, ContextTypes

from bot.runtime import Runtime
from bot.services.attendance import sweep as attendance_sweep

log = logging.getLogger(__name__)

INTERVAL = timedelta(minutes=1)


async def tick(runtime: Runtime) -> attendance_sweep.Report:
    """One look at the clock: queue whatever attendance work is due, then wake the sender."""
    now = runtime.clock.now()
    report = await runtime.database.run(lambda db: attendance_sweep.run_due(db, now),
                                        alone=True)
    if report.queued:
        runtime.wake_dispatcher()
    return report


def install(application: Application) -> None:
    runtime: Runtime = application.bot_data["runtime"]
    queue = application.job_queue
    if queue is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")

    async def attendance(context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await tick(runtime)
        except Exception:
            # Nothing was committed; the next tick tries again.
            log.exception("attendance tick failed")

    queue.run_repeating(attendance, interval=INTERVAL, first=5, name="attendance")
