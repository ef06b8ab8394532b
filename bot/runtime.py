"""What the Telegram edge needs at run time: settings, the clock, the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db import DatabaseRunner
from bot.i18n import Translator, translator
from bot.models import Person
from bot.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    sessions: sessionmaker[Session]
    bot_username: str = ""
    # Called after a unit of work queued messages, so they go out now, not at the next tick.
    wake_dispatcher: Callable[[], None] = field(default=lambda: None)
    # Waits in real time (Telegram's "retry after", backoff); tests pass one that does not
    # wait, as they pass a clock that does not tick.
    pause: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)
    # Units of work run here, off the event loop (see bot/db.py).
    database: DatabaseRunner = field(init=False)

    def __post_init__(self) -> None:
        self.database = DatabaseRunner(self.sessions)

    def translator_for(self, person: Person | None, fallback: str | None = None) -> Translator:
        language = (person.language if person is not None else None) or fallback
        return translator(language or self.settings.default_language, self.settings.timezone)
