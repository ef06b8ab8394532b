"""What the Telegram edge needs at run time: settings, the clock, the database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
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

    def translator_for(self, person: Person | None, fallback: str | None = None) -> Translator:
        language = (person.language if person is not None else None) or fallback
        return translator(language or self.settings.default_language, self.settings.timezone)
