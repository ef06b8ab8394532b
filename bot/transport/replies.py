"""What a handler decided to say, recorded as data while its unit of work is open.

Nothing here talks to Telegram. A handler appends replies to a ``Replies``; once the
unit of work has committed, ``bot.transport.deliver`` sends them in order. So a
button pressed right after a reply always finds the state that reply described,
whichever instance receives the press.

Every text recorded here fits Telegram's limits (bot/transport/limits.py): a long
message is split into several, an edit and a caption are shortened, a press's answer
is cut to 200 characters, and button data over 64 bytes is refused as a bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import BotCommand, InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.transport import limits

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True)
class Text:
    """A new message in the chat."""

    text: str
    markup: Markup | None = None


@dataclass(frozen=True)
class Edit:
    """Replace a message's text (and buttons). If the message can no longer be edited
    (deleted, too old), the text is sent as a new message unless ``quiet``."""

    message_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None
    quiet: bool = False

    def __post_init__(self) -> None:
        # One message is replaced by one: a text too long for it is shortened.
        object.__setattr__(self, "text", limits.fit(self.text, limits.TEXT))


@dataclass(frozen=True)
class EditButtons:
    """Replace only a message's buttons (None: remove them)."""

    message_id: int
    markup: InlineKeyboardMarkup | None


@dataclass(frozen=True)
class Toast:
    """The answer to a button press: a short notice, or a dialog when ``alert``."""

    text: str | None = None
    alert: bool = False

    def __post_init__(self) -> None:
        if self.text is not None:
            object.__setattr__(self, "text", limits.fit(self.text, limits.CALLBACK_ANSWER))


@dataclass(frozen=True)
class Photo:
    # The picture, or how to draw it: drawn after the commit, off the event loop.
    data: bytes | Callable[[], bytes]
    # Or what drawing it decided to say (read after ``data`` is drawn).
    caption: str | Callable[[], str] | None = None
    filename: str = "chart.png"

    def __post_init__(self) -> None:
        object.__setattr__(self, "caption", _caption(self.caption))


@dataclass(frozen=True)
class Document:
    data: bytes
    filename: str
    caption: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "caption", _caption(self.caption))


def _caption(caption: Any) -> Any:
    """A caption fitted to Telegram's limit; one decided only when the picture is drawn
    (a callable) is fitted then."""
    if caption is None:
        return None
    if callable(caption):
        return lambda: limits.fit(caption(), limits.CAPTION)
    return limits.fit(caption, limits.CAPTION)


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Venue:
    latitude: float
    longitude: float
    title: str
    address: str


@dataclass(frozen=True)
class Commands:
    """The command menu of this chat, or of ``chat_id``'s (another person whose roles this
    update changed); None: back to the bot's default menu."""

    commands: tuple[BotCommand, ...] | None
    chat_id: int | None = None


Reply = Text | Edit | EditButtons | Photo | Document | Location | Venue | Commands


@dataclass
class Replies:
    """Everything one update's handling will say, in order."""

    chat_id: int
    # The pressed button's query, answered first (with the toast, if any).
    callback_query_id: str | None = None
    toast: Toast | None = None
    items: list[Reply] = field(default_factory=list)
    # The person the chat belongs to, if known: a refused send marks them unreachable,
    # an undeliverable reply waits in their outbox.
    person_id: int | None = None
    # The unit of work queued outbox messages: wake the sender after the commit.
    wake_dispatcher: bool = False

    def add(self, reply: Reply) -> None:
        markup = getattr(reply, "markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            _check_buttons(markup)
        if isinstance(reply, Text) and not limits.fits(reply.text, limits.TEXT):
            # Too long for one message: several, the buttons under the last one.
            parts = limits.split(reply.text, limits.TEXT)
            self.items += [Text(part) for part in parts[:-1]]
            self.items.append(Text(parts[-1], reply.markup))
            return
        self.items.append(reply)

    def answer(self, toast: Toast) -> bool:
        """Record the press's answer; only the first one counts (Telegram takes one)."""
        if self.callback_query_id is None or self.toast is not None:
            return False
        self.toast = toast
        return True

    def discard(self) -> None:
        """Forget what was recorded (the unit of work rolled back); a toast given stays."""
        self.items.clear()


def _check_buttons(markup: InlineKeyboardMarkup) -> None:
    """Button data is built by bot/presentation/callbacks.py within the limit; data over
    it is a bug, refused here rather than by Telegram after the commit."""
    for row in markup.inline_keyboard:
        for button in row:
            data = button.callback_data
            if isinstance(data, str) and len(data.encode()) > limits.CALLBACK_DATA_BYTES:
                raise ValueError(f"button data over {limits.CALLBACK_DATA_BYTES} bytes")
