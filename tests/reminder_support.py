"""Set-up for the reminder, session and milestone tests, through the project's services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.request import BaseRequest

from bot.clock import ManualClock
from bot.emulator import BotApiEmulator, EmulatorRequest
from bot.models import (
    Booking,
    Enrolment,
    InfoSession,
    JobCentre,
    OutboxMessage,
    OutboxStatus,
    Person,
    Role,
)
from bot.runtime import Runtime
from bot.services.people import onboarding
from bot.services.reminders import rules as reminder_rules
from bot.services.sessions import info_sessions
from scheduler.dispatcher import Dispatcher, DispatchReport
from tests import factories
from tests.conftest import make_settings

_users = count(7_000_001)


@dataclass
class World:
    centre: JobCentre
    admin: Person
    coach: Person
    lead: Person


def world(db: Session, now: datetime, *, rules: bool = True, **centre_options: object) -> World:
    """A job centre with an admin, a coach and a team lead, and the default reminder rules."""
    centre = factories.centre(db, now, **centre_options)
    admin = factories.staff(db, now, Role.ADMIN, centre, name="Maria", language="en")
    coach = factories.staff(db, now, Role.COACH, centre, name="Johan", language="en")
    lead = factories.staff(db, now, Role.TEAM_LEAD, centre, name="Lena")
    if rules:
        reminder_rules.install_defaults(db, now)
    return World(centre, admin, coach, lead)


def enrol(db: Session, now: datetime, world: World, name: str = "Amina", language: str = "ar",
          *, attendance_required: bool = False, telegram_user_id: int | None = None
          ) -> tuple[Person, Enrolment]:
    """An aspirant who opened an invite and gave consent (the onboarding service)."""
    invite = factories.aspirant_invite(db, now, world.centre, coach=world.coach,
                                       attendance_required=attendance_required)
    uid = telegram_user_id or next(_users)
    return onboarding.enrol_aspirant(db, now, invite.id, invite.code, telegram_user_id=uid,
                                     chat_id=uid, language=language, display_name=name)


def session_at(db: Session, now: datetime, world: World, starts_at: datetime,
               **kwargs: object) -> InfoSession:
    return factories.session(db, now, world.centre, starts_at, **kwargs)


def book(db: Session, now: datetime, aspirant: Person, session: InfoSession) -> Booking:
    return info_sessions.book(db, now, aspirant, session.id)


def rows(db: Session, *, status: OutboxStatus | None = OutboxStatus.PENDING,
         kind: str | None = None, recipient: Person | None = None,
         event_key: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    if recipient is not None:
        query = query.where(OutboxMessage.recipient_id == recipient.id)
    if event_key is not None:
        query = query.where(OutboxMessage.event_key == event_key)
    return list(db.scalars(query.order_by(OutboxMessage.due_at, OutboxMessage.id)))


def due_times(db: Session, **filters: object) -> list[datetime]:
    return [row.due_at for row in rows(db, **filters)]  # type: ignore[arg-type]


def reminders(db: Session, **filters: object) -> list[OutboxMessage]:
    """Pending reminder rows (not notices)."""
    return [r for r in rows(db, **filters) if r.kind.startswith("reminder.")]  # type: ignore[arg-type]


HOUR = timedelta(hours=1)


# --- sending through the emulated Bot API, on any database ---------------------------------
class Sender:
    """A dispatcher with its own Bot talking to an emulator (no Application needed)."""

    def __init__(self, sessions: sessionmaker[Session], clock: ManualClock, database_url: str,
                 *, worker: str = "w1", emulator: BotApiEmulator | None = None,
                 request: BaseRequest | None = None, **options: Any) -> None:
        self.emulator = emulator or BotApiEmulator()
        self.bot = Bot(self.emulator.token, request=request or EmulatorRequest(self.emulator))
        self.runtime = Runtime(settings=make_settings(database_url), clock=clock,
                               sessions=sessions)
        # Waits in real time (Telegram's "retry after", backoff) are recorded, not waited.
        self.pauses: list[float] = []
        self.runtime.pause = self._pause
        options.setdefault("chat_interval", 0)
        self.dispatcher = Dispatcher(self.bot, self.runtime, worker=worker, **options)

    async def _pause(self, seconds: float) -> None:
        self.pauses.append(seconds)

    async def __aenter__(self) -> Sender:
        await self.bot.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.dispatcher.close()
        await self.bot.shutdown()

    def know(self, *persons: Person) -> None:
        """Give each person a chat in the emulator (their Telegram id is their chat id)."""
        for person in persons:
            if person.chat_id is not None and person.chat_id not in self.emulator.users:
                self.emulator.add_user(person.display_name or "?", person.language,
                                       user_id=person.chat_id)

    async def run(self) -> DispatchReport:
        return await self.dispatcher.run()

    def texts(self, person: Person) -> list[str]:
        return [m.get("text", "") for m in self.emulator.bot_messages(person.chat_id)]

    def messages(self, person: Person) -> list[dict[str, Any]]:
        return self.emulator.bot_messages(person.chat_id)


# --- the same people with phones, for handler tests --------------------------------------
@dataclass
class Cast:
    world: World
    admin: Any  # tests.harness.Phone
    coach: Any
    aspirants: dict[str, Any]  # name -> Phone
    ids: dict[str, int]  # name -> person id


def cast(harness: Any, *aspirants: tuple[str, str], attendance_required: bool = False,
         rules: bool = True) -> Cast:
    """An admin (English), a coach (Swedish) and enrolled aspirants, each with a phone."""
    now = harness.clock.now()
    admin_phone = harness.phone("Maria", "en")
    coach_phone = harness.phone("Johan", "sv")
    phones = {name: harness.phone(name, language) for name, language in aspirants}
    ids = {}
    with harness.db() as db:
        centre = factories.centre(db, now)
        admin = factories.staff(db, now, Role.ADMIN, centre, name="Maria", language="en",
                                telegram_user_id=admin_phone.id)
        coach = factories.staff(db, now, Role.COACH, centre, name="Johan",
                                telegram_user_id=coach_phone.id)
        lead = factories.staff(db, now, Role.TEAM_LEAD, centre, name="Lena")
        w = World(centre, admin, coach, lead)
        if rules:
            reminder_rules.install_defaults(db, now)
        for name, language in aspirants:
            person, _ = enrol(db, now, w, name, language, telegram_user_id=phones[name].id,
                              attendance_required=attendance_required)
            ids[name] = person.id
    return Cast(w, admin_phone, coach_phone, phones, ids)
