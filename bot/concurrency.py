"""Different people at once, each person's updates in the order they arrived.

Handlers decide in short units of work on database worker threads (bot/db.py) and
talk to Telegram only after committing, so nothing holds a lock across a network
call and one person's slow answer from Telegram never delays another person. What
must stay ordered is one chat: a button pressed right after a message must be
handled after it, seeing what it committed. Updates are chained per person (the
user, or the chat when there is no user); different people run side by side, up
to ``MAX_IN_PROGRESS`` at once.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates being handled at once (each waits mostly on the database or Telegram).
MAX_IN_PROGRESS = 256
# Updates PTB may hand over before it waits: the ones waiting for their person's turn.
_ACCEPTED_LIMIT = 4096


def order_key(update: object) -> Hashable:
    """Updates with the same key are handled one after another, in arrival order."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
    return ("other", id(update))


class PerPersonUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_in_progress: int = MAX_IN_PROGRESS) -> None:
        # PTB's own semaphore only bounds what is accepted; it never makes an update wait
        # at that size, so updates reach ``do_process_update`` in arrival order.
        super().__init__(_ACCEPTED_LIMIT)
        self._slots = asyncio.Semaphore(max_in_progress)
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = order_key(update)
        previous = self._tails.get(key)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Taken before the first await: the chain follows the order of arrival.
        self._tails[key] = done
        try:
            if previous is not None:
                await asyncio.shield(previous)
            async with self._slots:
                await coroutine
        except asyncio.CancelledError:
            if inspect.iscoroutine(coroutine) and inspect.getcoroutinestate(coroutine) == (
                    inspect.CORO_CREATED):
                coroutine.close()  # cancelled before its turn: no "never awaited" warning
            raise
        finally:
            done.set_result(None)
            if self._tails.get(key) is done:
                del self._tails[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
