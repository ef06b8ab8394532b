"""The bot's shared sending budget: one row per budget, shared by every instance."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class SendBudget(Base):
    """Telegram's 30 messages a second hold for the bot, not per process: every instance
    reserves its sending slots here (bot/transport/budget.py).

    Times are real time on the database's clock (seconds since 1970), so instances on
    different machines agree on them and the bot's own clock (moved by the sandbox)
    plays no part.
    """

    __tablename__ = "send_budget"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The earliest moment the next message may go out (a "virtual schedule": each
    # reservation moves it on by one interval per message).
    next_slot: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    # Telegram last asked the bot to wait (429) until this moment.
    held_until: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
