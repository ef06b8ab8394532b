"""The sandbox's time control: move the bot's clock forward and run what became due.

The bot reads the time only from ``runtime.clock`` (an ``OffsetClock`` here), so
moving it forward is all it takes for reminders, check-in windows and alerts to
become due; the system clock is never touched. What APScheduler would have run
in that time is run at once:

* every job in the application's JobQueue with a repeating trigger
  (``run_repeating``, ``run_daily``, ``run_custom`` with an interval or cron
  trigger) whose next fire time falls in the time passed; jobs registered in
  ``scheduler/jobs.py`` need nothing else, as long as they read the time from
  ``runtime.clock`` and are safe to run again (they must be anyway: the safety
  interval runs them repeatedly);
* one-shot jobs (``run_once``) are wake-ups in real time and are left alone;
* then the dispatcher, so messages queued by those jobs go out in the same step.

Time moves in steps of at most ``STEP``, so a day's reminders arrive in order,
each at its own time, as they would have in a real day.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.date import DateTrigger
from telegram.ext import Application

from bot.clock import OffsetClock

log = logging.getLogger(__name__)

STEP = timedelta(minutes=15)


async def run_due_jobs(application: Application, since: datetime, until: datetime) -> int:
    """Run each repeating job that would have fired in (since, until]; returns how many ran."""
    queue = application.job_queue
    ran = 0
    if queue is not None:
        for job in queue.jobs():
            trigger = job.job.trigger
            # A paused job has no next run time (PTB's Job.enabled is not reliable for this).
            if job.job.next_run_time is None or isinstance(trigger, DateTrigger):
                continue
            next_fire = trigger.get_next_fire_time(None, since + timedelta(microseconds=1))
            if next_fire is not None and next_fire <= until:
                await job.run(application)
                ran += 1
    dispatcher = application.bot_data.get("dispatcher")
    if dispatcher is not None:
        await dispatcher.run()
    return ran


class TimeControl:
    def __init__(self, application: Application, clock: OffsetClock, zone: ZoneInfo,
                 on_change: Callable[[datetime], None] = lambda _now: None) -> None:
        self.application = application
        self.clock = clock
        self.zone = zone
        self.on_change = on_change
        self._moving = asyncio.Lock()
        # End of the time already handed to the jobs: the next window starts there, so a
        # fire time between two steps (or two clicks) is never skipped.
        self._covered_until: datetime | None = None

    def now(self) -> datetime:
        return self.clock.now()

    async def advance(self, delta: timedelta) -> datetime:
        if delta <= timedelta(0):
            raise ValueError("time can only move forward")
        async with self._moving:
            remaining = delta
            while remaining > timedelta(0):
                step = min(STEP, remaining)
                since = self._covered_until or self.clock.now()
                after = self.clock.advance(step)
                remaining -= step
                self._covered_until = after
                try:
                    await run_due_jobs(self.application, since, after)
                except Exception:
                    # One failing job must not leave the clock half-way.
                    log.exception("running due work failed")
                self.on_change(after)
            log.info("sandbox time moved forward by %s", delta)
            return self.clock.now()

    async def advance_to_next(self, at: time) -> datetime:
        """To the next moment the local clock shows ``at`` (tomorrow if already past)."""
        now = self.clock.now().astimezone(self.zone)
        target = datetime.combine(now.date(), at, self.zone)
        if target <= now:
            target = datetime.combine(now.date() + timedelta(days=1), at, self.zone)
        # Subtract in UTC: between two times of one zone Python ignores a DST change.
        return await self.advance(target.astimezone(UTC) - now.astimezone(UTC))
