"""One place where every handler gets its database, clock, language and access check.

A handler is ``def name(turn: Turn) -> None`` decorated with ``@on(...)``, which
declares who may use it. It runs in a database worker thread inside one unit of work
(bot/db.py): it reads and changes the database through services and records what to
say — ``turn.say``, ``turn.edit_or_say``, ``turn.toast``, … — as data. The decorator
commits, and only then are the replies sent (bot/transport/deliver.py): decide,
commit, then talk. A refused role gets a localized answer and changes nothing; a
domain error rolls the unit back and is explained in the user's language.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from telegram import BotCommand, CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from bot import metrics
from bot.errors import DomainError
from bot.i18n import N_, Translator, supported_language, translator
from bot.models import ConversationState, Person, Role
from bot.presentation import callbacks
from bot.runtime import Runtime
from bot.services.messaging import outbox
from bot.services.people import identity, people, reachability
from bot.services.people.identity import Identity
from bot.services.system import conversations
from bot.transport import replies as reply
from bot.transport.deliver import deliver

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
C = TypeVar("C", bound=callbacks.Callback)
# Embeddings, overrides and isolates (U+202A–202E, U+2066–2069), and C0 controls except tab
# and line break. Marks such as RLM and joiners (ZWNJ is needed in Persian) are kept.
_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f\x7f]")
STALE_BUTTON = N_("This button is no longer active.")


def runtime_of(context: Context) -> Runtime:
    return context.application.bot_data["runtime"]


class Turn:
    """One update being decided: what it says is recorded in ``replies``."""

    def __init__(self, update: Update, runtime: Runtime, db: Session, now: datetime,
                 identity: Identity | None, t: Translator, replies: reply.Replies,
                 args: list[str]) -> None:
        self.update = update
        self.runtime = runtime
        self.db = db
        self.now = now
        # Who sent the update, read in one statement; the full Person on demand.
        self.identity = identity
        self.t = t
        self.replies = replies
        self.args = args
        self._person: Person | None = None

    @property
    def person(self) -> Person | None:
        if self._person is None and self.identity is not None:
            self._person = people.get(self.db, self.identity.person_id)
        return self._person

    @person.setter
    def person(self, person: Person | None) -> None:
        """Someone became known during this update (e.g. they just enrolled)."""
        self._person = person
        self.identity = None
        if person is not None:
            self.replies.person_id = person.id

    @property
    def person_id(self) -> int | None:
        if self.identity is not None:
            return self.identity.person_id
        return self._person.id if self._person is not None else None

    @property
    def user_id(self) -> int:
        return self.update.effective_user.id  # type: ignore[union-attr]

    @property
    def chat_id(self) -> int:
        return self.update.effective_chat.id  # type: ignore[union-attr]

    @property
    def query(self) -> CallbackQuery | None:
        return self.update.callback_query

    @property
    def message(self) -> Message | None:
        return self.update.effective_message

    @property
    def text(self) -> str:
        """The typed text, trimmed and without direction overrides or control characters
        (which could turn the order of whatever the bot shows it inside)."""
        message = self.update.message
        return _CONTROLS.sub("", message.text or "").strip() if message else ""

    def _(self, message: str, /, **params: Any) -> str:
        return self.t._(message, **params)

    def use_language(self, language: str) -> None:
        self.t = translator(language, self.runtime.settings.timezone)

    # --- what to say (sent after the commit) -------------------------------------------
    def say(self, text: str, *, reply_markup: reply.Markup | None = None) -> None:
        self.replies.add(reply.Text(text, reply_markup))

    def edit_or_say(self, text: str, *, reply_markup: InlineKeyboardMarkup | None = None
                    ) -> None:
        """Replace the pressed message's text, so old buttons cannot be pressed again."""
        pressed = self._pressed_message_id()
        if pressed is not None:
            self.replies.add(reply.Edit(pressed, text, reply_markup))  # type: ignore[arg-type]
        else:
            self.say(text, reply_markup=reply_markup)

    def edit(self, message_id: int, text: str, *,
             reply_markup: InlineKeyboardMarkup | None = None) -> None:
        """Redraw another message of this chat (e.g. an alert); if it is gone, nothing."""
        self.replies.add(reply.Edit(message_id, text, reply_markup, quiet=True))

    def replace_buttons(self, markup: InlineKeyboardMarkup | None) -> None:
        """Change only the pressed message's buttons."""
        pressed = self._pressed_message_id()
        if pressed is not None:
            self.replies.add(reply.EditButtons(pressed, markup))

    def toast(self, text: str | None = None, *, alert: bool = False) -> None:
        """Answer the button press (once), optionally with a short notice."""
        self.replies.answer(reply.Toast(text, alert))

    def send_photo(self, data: bytes | Callable[[], bytes], *,
                   caption: str | Callable[[], str] | None = None) -> None:
        self.replies.add(reply.Photo(data, caption))

    def send_document(self, data: bytes, filename: str, *, caption: str | None = None) -> None:
        self.replies.add(reply.Document(data, filename, caption))

    def send_location(self, latitude: float, longitude: float) -> None:
        self.replies.add(reply.Location(latitude, longitude))

    def send_venue(self, latitude: float, longitude: float, title: str, address: str) -> None:
        self.replies.add(reply.Venue(latitude, longitude, title, address))

    def set_commands(self, commands: Iterable[BotCommand] | None) -> None:
        """This chat's command menu (None: the bot's default one)."""
        self.replies.add(reply.Commands(tuple(commands) if commands is not None else None))

    def refresh_menu_of(self, person: Person) -> None:
        """Another person's roles changed in this update: their chat's command menu now
        lists what is left (none left: the menu of someone the bot does not know)."""
        if person.chat_id is None or person.erased_at is not None:
            return
        from bot.presentation.keyboards import commands, commands_for

        t = translator(person.language, self.runtime.settings.timezone)
        entries = commands_for(grant.role for grant in person.roles)
        self.replies.add(reply.Commands(tuple(commands(t, entries)) if entries else None,
                                        chat_id=person.chat_id))

    def _pressed_message_id(self) -> int | None:
        query = self.query
        if query is None or query.message is None:
            return None
        return query.message.message_id

    # --- state ---------------------------------------------------------------------------
    def conversation(self, flow: str, *steps: str) -> ConversationState | None:
        """This chat's conversation if it is in ``flow`` (at one of ``steps``, if given)."""
        if not self._may_have_conversation(flow):
            return None
        state = conversations.current(self.db, self.now, self.user_id, self.chat_id)
        if state is None or state.flow != flow or (steps and state.step not in steps):
            return None
        return state

    def current_conversation(self) -> ConversationState | None:
        """This chat's conversation, whatever its flow."""
        if not self._may_have_conversation(None):
            return None
        return conversations.current(self.db, self.now, self.user_id, self.chat_id)

    def stale(self) -> None:
        """The pressed button belongs to a step that is over (or was never this user's)."""
        self.toast(self._(STALE_BUTTON), alert=True)

    def pressed(self, *kinds: type[C]) -> C | None:
        """The pressed button's data as one of ``kinds`` (None: forged or from an old
        format; answer it with ``stale()``)."""
        data = self.query.data if self.query is not None else None
        return callbacks.parse(data, *kinds)  # type: ignore[return-value]

    def _may_have_conversation(self, flow: str | None) -> bool:
        """False when the identity read shows no step (of ``flow``) and nothing in this
        update has changed conversations since (saves a statement on most updates)."""
        if self.identity is None or conversations.changed_in(self.db):
            return True
        step = self.identity.conversation
        return step is not None and (flow is None or step.flow == flow
                                     or step.expires_at <= self.now)

    @property
    def roles(self) -> frozenset[Role]:
        """The roles the person holds (anywhere); none for someone not known."""
        if self._person is not None or self.identity is None:
            return frozenset(g.role for g in self._person.roles) if self._person else frozenset()
        return frozenset(role for role, _ in self.identity.roles)

    def has_role(self, *roles: Role) -> bool:
        if self._person is not None or self.identity is None:
            return self._person is not None and self._person.has_role(*roles)
        return self.identity.has_role(*roles)


Handler = Callable[[Turn], None]


def on(*, roles: Iterable[Role] | None = None) -> Callable[[Handler], Callable[..., Any]]:
    """Declare a handler and who may use it (``roles=None``: anyone, known or not)."""
    allowed = frozenset(roles) if roles is not None else None

    def decorate(handler: Handler) -> Callable[..., Any]:
        @functools.wraps(handler)
        async def callback(update: Update, context: Context) -> None:
            if update.effective_user is None or update.effective_chat is None:
                return
            if update.effective_chat.type != "private":
                return  # the bot works in private chats only
            if update.edited_message is not None:
                # An edit (or a live location moving) is not a new answer: a step answered
                # already must not be answered again, nor a check-in repeated.
                return
            runtime = runtime_of(context)
            args = list(context.args or [])
            started = time.perf_counter()
            decided = await runtime.database.run(
                lambda db: _decide(db, runtime, update, args, handler, allowed))
            await deliver(context.bot, runtime, decided)
            if decided.wake_dispatcher:
                runtime.wake_dispatcher()
            metrics.UPDATES.labels(metrics.update_kind(update)).inc()
            metrics.UPDATE_SECONDS.observe(time.perf_counter() - started)

        callback.allowed_roles = allowed  # type: ignore[attr-defined]
        return callback

    return decorate


def invoke(turn: Turn, callback: Callable[..., Any]) -> None:
    """Run another declared handler within this turn, with its own access check."""
    allowed = getattr(callback, "allowed_roles", None)
    if allowed is not None and not turn.has_role(*allowed):
        _refuse(turn)
        return
    callback.__wrapped__(turn)


def _decide(db: Session, runtime: Runtime, update: Update, args: list[str], handler: Handler,
            allowed: frozenset[Role] | None) -> reply.Replies:
    """The handler's unit of work, in a worker thread: returns what to say."""
    turn = _turn(update, runtime, db, args)
    if allowed is not None and not turn.has_role(*allowed):
        _refuse(turn)
    else:
        try:
            handler(turn)
        except DomainError as error:
            db.rollback()
            turn.replies.discard()
            _explain(turn, error)
    turn.replies.wake_dispatcher = outbox.queued_in(db)
    return turn.replies


def _turn(update: Update, runtime: Runtime, db: Session, args: list[str]) -> Turn:
    now = runtime.clock.now()
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    who = identity.identify(db, user.id, chat.id)
    if who is not None and who.erased:
        who = None
    if who is not None and who.unreachable:
        person = db.get(Person, who.person_id)
        assert person is not None
        reachability.reachable_again(db, now, person)
    language = who.language if who is not None else None
    if language is None:
        state = conversations.current(db, now, user.id, chat.id)
        if state is not None:
            language = state.data.get("language")
    language = language or supported_language(user.language_code)
    language = language or runtime.settings.default_language
    t = translator(language, runtime.settings.timezone)
    query = update.callback_query
    replies = reply.Replies(chat.id, callback_query_id=query.id if query is not None else None,
                            person_id=who.person_id if who is not None else None)
    return Turn(update, runtime, db, now, who, t, replies, args)


def _refuse(turn: Turn) -> None:
    if turn.identity is None and turn.person is None:
        text = turn._(
            "I don't know you yet. Please open the invite link you got from your coach."
        )
    else:
        text = turn._("Sorry, this is not available to you.")
        # Their menu may be older than their roles (one was removed): show what is left.
        from bot.presentation.keyboards import commands, commands_for

        turn.set_commands(commands(turn.t, commands_for(turn.roles)))
    if turn.query is not None:
        turn.toast(text, alert=True)
    else:
        turn.say(text)


def _explain(turn: Turn, error: DomainError) -> None:
    text = turn.t._(error.message, **error.params)
    if turn.query is not None:
        turn.toast(text, alert=True)  # shortened to Telegram's limit by the toast
    else:
        turn.say(text)


GENERIC_ERROR = N_(
    "Sorry, something went wrong on our side. Nothing you sent is lost; "
    "please try again in a moment."
)


async def on_error(update: object, context: Context) -> None:
    """Log the failure without personal data and tell the user, in their language."""
    error = context.error
    log.error("handler failed: %s", type(error).__name__, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    runtime = runtime_of(context)
    language = None
    user = update.effective_user
    if user is not None:
        try:
            language = await runtime.database.run(lambda db: _language_of(db, user.id))
        except Exception:
            language = None
        language = language or supported_language(user.language_code)
    t = translator(language or runtime.settings.default_language, runtime.settings.timezone)
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except Exception:
            log.info("button press not answered after the failure")
    try:
        await context.bot.send_message(update.effective_chat.id, t._(GENERIC_ERROR))
    except Exception:
        log.warning("could not tell the user about the failure")


def _language_of(db: Session, telegram_user_id: int) -> str | None:
    person = people.by_telegram_id(db, telegram_user_id)
    return person.language if person is not None and person.erased_at is None else None
