"""One place where every handler gets its database, clock, language and access check.

A handler is ``async def name(turn: Turn) -> None`` decorated with ``@on(...)``,
which declares who may use it. The decorator opens a unit of work, resolves the
person behind the update, refuses anyone without the role (localized, nothing
changed), renders domain errors in the user's language, and commits only if the
handler finished.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from telegram import CallbackQuery, Message, Update
from telegram.ext import ContextTypes

from bot.db import unit_of_work
from bot.errors import DomainError
from bot.i18n import N_, Translator, supported_language, translator
from bot.models import ConversationState, Person, Role
from bot.runtime import Runtime
from bot.services.messaging import outbox
from bot.services.people import people
from bot.services.reminders import planner as reminders
from bot.services.system import conversations

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
STALE_BUTTON = N_("This button is no longer active.")


def runtime_of(context: Context) -> Runtime:
    return context.application.bot_data["runtime"]


@dataclass
class Turn:
    """One update being handled."""

    update: Update
    context: Context
    runtime: Runtime
    db: Session
    now: datetime
    person: Person | None
    t: Translator
    answered: bool = False

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
        message = self.update.message
        return (message.text or "").strip() if message else ""

    @property
    def args(self) -> list[str]:
        return list(self.context.args or [])

    def _(self, message: str, /, **params: Any) -> str:
        return self.t._(message, **params)

    def use_language(self, language: str) -> None:
        self.t = translator(language, self.runtime.settings.timezone)

    async def say(self, text: str, **kwargs: Any) -> Message:
        return await self.context.bot.send_message(self.chat_id, text, **kwargs)

    async def edit_or_say(self, text: str, **kwargs: Any) -> None:
        """Replace the pressed message's text, so old buttons cannot be pressed again."""
        if self.query is not None and self.query.message is not None:
            await self.query.edit_message_text(text, **kwargs)
        else:
            await self.say(text, **kwargs)

    async def toast(self, text: str | None = None, *, alert: bool = False) -> None:
        """Answer the button press (once), optionally with a short notice."""
        if self.query is not None and not self.answered:
            self.answered = True
            await self.query.answer(text, show_alert=alert)

    def conversation(self, flow: str, *steps: str) -> ConversationState | None:
        """This chat's conversation if it is in ``flow`` (at one of ``steps``, if given)."""
        state = conversations.current(self.db, self.now, self.user_id, self.chat_id)
        if state is None or state.flow != flow or (steps and state.step not in steps):
            return None
        return state

    async def stale(self) -> None:
        """The pressed button belongs to a step that is over (or was never this user's)."""
        await self.toast(self._(STALE_BUTTON), alert=True)

    def has_role(self, *roles: Role) -> bool:
        return self.person is not None and self.person.has_role(*roles)


Handler = Callable[[Turn], Awaitable[None]]


def on(*, roles: Iterable[Role] | None = None) -> Callable[[Handler], Callable[..., Awaitable[None]]]:
    """Declare a handler and who may use it (``roles=None``: anyone, known or not)."""
    allowed = frozenset(roles) if roles is not None else None

    def decorate(handler: Handler) -> Callable[..., Awaitable[None]]:
        @functools.wraps(handler)
        async def callback(update: Update, context: Context) -> None:
            if update.effective_user is None or update.effective_chat is None:
                return
            if update.effective_chat.type != "private":
                return  # the bot works in private chats only
            runtime = runtime_of(context)
            queued = False
            with unit_of_work(runtime.sessions) as db:
                turn = _turn(update, context, runtime, db)
                if allowed is not None and not turn.has_role(*allowed):
                    await _refuse(turn)
                    return
                try:
                    await handler(turn)
                except DomainError as error:
                    db.rollback()
                    await _explain(turn, error)
                    return
                finally:
                    await _answer_quietly(turn)
                queued = outbox.queued_in(db)
            if queued:
                runtime.wake_dispatcher()

        callback.allowed_roles = allowed  # type: ignore[attr-defined]
        return callback

    return decorate


async def invoke(turn: Turn, callback: Callable[..., Awaitable[None]]) -> None:
    """Run another declared handler within this turn, with its own access check."""
    allowed = getattr(callback, "allowed_roles", None)
    if allowed is not None and not turn.has_role(*allowed):
        await _refuse(turn)
        return
    await callback.__wrapped__(turn)  # type: ignore[attr-defined]


def _turn(update: Update, context: Context, runtime: Runtime, db: Session) -> Turn:
    now = runtime.clock.now()
    user = update.effective_user
    assert user is not None and update.effective_chat is not None
    person = people.by_telegram_id(db, user.id)
    if person is not None and person.erased_at is not None:
        person = None
    if person is not None and person.unreachable_at is not None:
        # They write to us again, so they can be reached again: plan their reminders anew.
        person.unreachable_at = None
        enrolment = people.active_enrolment(db, person)
        if enrolment is not None:
            reminders.refresh_enrolment(db, now, enrolment, reason="reachable_again")
    language = person.language if person is not None else None
    if language is None:
        state = conversations.current(db, now, user.id, update.effective_chat.id)
        if state is not None:
            language = state.data.get("language")
    language = language or supported_language(user.language_code)
    language = language or runtime.settings.default_language
    t = translator(language, runtime.settings.timezone)
    return Turn(update, context, runtime, db, now, person, t)


async def _refuse(turn: Turn) -> None:
    if turn.person is None:
        text = turn._(
            "I don't know you yet. Please open the invite link you got from your coach."
        )
    else:
        text = turn._("Sorry, this is not available to you.")
    if turn.query is not None:
        await turn.toast(text, alert=True)
    else:
        await turn.say(text)


async def _explain(turn: Turn, error: DomainError) -> None:
    text = turn.t._(error.message, **error.params)
    if turn.query is not None:
        await turn.toast(text[:200], alert=True)
    else:
        await turn.say(text)


async def _answer_quietly(turn: Turn) -> None:
    # Every press is answered, or the user's button keeps spinning.
    try:
        await turn.toast()
    except Exception:  # the query is too old to answer: nothing to do
        log.debug("callback query could not be answered")


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
    if update.effective_user is not None:
        try:
            with unit_of_work(runtime.sessions) as db:
                person = people.by_telegram_id(db, update.effective_user.id)
                language = person.language if person is not None else None
        except Exception:
            language = None
        language = language or supported_language(update.effective_user.language_code)
    t = translator(language or runtime.settings.default_language, runtime.settings.timezone)
    try:
        await context.bot.send_message(update.effective_chat.id, t._(GENERIC_ERROR))
    except Exception:
        log.warning("could not tell the user about the failure")
