"""One update or scheduled job at a time in this process, in arrival order.

Handlers keep their unit of work open while they talk to Telegram, and the
database drivers wait for locks synchronously, on the event loop's thread. If one
coroutine held a lock (SQLite's write lock, a PostgreSQL row lock such as a
booking's) across an await while another asked for it, the whole loop would stop
until the driver gave up (30 s on SQLite) or for ever (PostgreSQL), and the holder
could never commit. So updates and jobs take turns through one asyncio lock. That
also hands a user's button presses to the handlers in the order they were made,
each seeing the step the previous one committed. Several bot processes on one
PostgreSQL database still work side by side: their lock waits do not block each
other's loops.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any

from telegram.ext import BaseUpdateProcessor, Job, JobQueue

# Updates PTB may hold waiting for their turn before it stops fetching more.
_WAITING_LIMIT = 256


class TurnTakingUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, gate: asyncio.Lock) -> None:
        super().__init__(_WAITING_LIMIT)
        self._gate = gate

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            async with self._gate:
                await coroutine
        except asyncio.CancelledError:
            if inspect.iscoroutine(coroutine) and inspect.getcoroutinestate(coroutine) == (
                    inspect.CORO_CREATED):
                coroutine.close()  # cancelled before its turn: no "never awaited" warning
            raise

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class TurnTakingJobQueue(JobQueue):  # type: ignore[type-arg]
    def __init__(self, gate: asyncio.Lock) -> None:
        super().__init__()
        self.gate = gate

    @staticmethod
    async def job_callback(job_queue: JobQueue, job: Job) -> None:  # type: ignore[type-arg,override]
        async with job_queue.gate:  # type: ignore[attr-defined]
            await job.run(job_queue.application)
