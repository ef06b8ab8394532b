"""A Bot API server emulated in process, for tests, benchmarks and the sandbox.

``BotApiEmulator`` holds the state (users, chats, messages, pending updates) and
answers Bot API methods. ``EmulatorRequest`` plugs it into python-telegram-bot
directly (no network); ``bot.emulator.server`` serves it over HTTP on 127.0.0.1
so the real bot can run against it as a separate process.
"""

from bot.emulator.core import ApiCall, BotApiEmulator, Fault, RollingLimit, Storm
from bot.emulator.request import EmulatorRequest

__all__ = ["ApiCall", "BotApiEmulator", "EmulatorRequest", "Fault", "RollingLimit", "Storm"]
