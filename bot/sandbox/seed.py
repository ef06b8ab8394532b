"""What the sandbox starts with: a job centre, its staff, information sessions, invites.

The job centre, its information sessions, reminder rules and attendance policy come
from the example configuration (``jobbot config example``), imported as an admin
would import a file; the staff and the aspirants' invites are created through the
project's services, as staff would do it. Seeding is idempotent: with ``--keep`` the
kept job centre stays as it is and only missing staff and invites are added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy.orm import Session

from bot.config import example_text
from bot.config.importer import import_config
from bot.config.schema import ParsedCentre, parse
from bot.errors import JobbotError
from bot.models import InfoSession, JobCentre, Person, Role
from bot.services.centres import centres
from bot.services.people import invites, onboarding, people
from bot.services.sessions import info_sessions


@dataclass(frozen=True)
class Actor:
    """A person with a phone on the page; staff get their role at once, aspirants an invite."""

    key: str  # short ASCII id used by the page
    first_name: str
    telegram_id: int
    language_code: str  # what their Telegram app reports
    role: Role
    invite_names_session: bool = False  # the aspirant's invite offers a session to confirm
    attendance_required: bool = True


@dataclass(frozen=True)
class SeedPlan:
    configuration: str  # YAML, as ``jobbot config import`` reads it
    centre_name: str  # the configuration's job centre that the phones belong to
    actors: tuple[Actor, ...]

    @cached_property
    def centre(self) -> ParsedCentre:
        """The phones' job centre as the configuration describes it."""
        for centre in parse(self.configuration).centres:
            if centre.head is not None and centre.head.name == self.centre_name:
                return centre
        raise JobbotError(f"the sandbox configuration has no job centre {self.centre_name!r}")

    @property
    def latitude(self) -> float | None:
        return self.centre.head.latitude if self.centre.head else None

    @property
    def longitude(self) -> float | None:
        return self.centre.head.longitude if self.centre.head else None


SANDBOX = SeedPlan(
    configuration=example_text(),
    centre_name="Jobbtorg Kista",
    actors=(
        Actor("amina", "Amina", 5100000101, "ar", Role.ASPIRANT, invite_names_session=True),
        Actor("erik", "Erik", 5100000102, "sv", Role.ASPIRANT),
        Actor("johan", "Johan", 5100000002, "sv", Role.COACH),
        Actor("maria", "Maria", 5100000001, "en", Role.ADMIN),
    ),
)


@dataclass
class Phone:
    """What the page needs to show one actor's phone."""

    key: str
    first_name: str
    telegram_id: int
    language_code: str
    role: Role
    invite_code: str | None = None  # None: nothing to open (staff, or already registered)


@dataclass
class Seeded:
    centre_id: int
    phones: list[Phone]


def seed(db: Session, now: datetime, plan: SeedPlan = SANDBOX) -> Seeded:
    # The admin holds the role for every job centre, so exists before any centre does.
    admin = _staff(db, now, plan, Role.ADMIN, None, created_by=None)
    centre = centres.by_name(db, plan.centre_name)
    if centre is None:
        # The job centre, its sessions for the coming weeks, the reminder rules, quiet
        # hours, closed days and attendance policy: the example configuration, imported.
        import_config(db, now, plan.configuration, actor=admin)
        centre = centres.by_name(db, plan.centre_name)
        if centre is None:
            raise JobbotError(f"the sandbox configuration has no job centre "
                              f"{plan.centre_name!r}")
    coach = _staff(db, now, plan, Role.COACH, centre, created_by=admin)
    phones: list[Phone] = []
    for actor in plan.actors:
        phone = Phone(actor.key, actor.first_name, actor.telegram_id, actor.language_code,
                      actor.role)
        if actor.role == Role.ASPIRANT and people.by_telegram_id(db, actor.telegram_id) is None:
            session = _session_for_invite(db, now, centre) if actor.invite_names_session else None
            phone.invite_code = invites.create(
                db, now, role=Role.ASPIRANT, created_by=coach, job_centre=centre, coach=coach,
                info_session=session, attendance_required=actor.attendance_required,
            ).code
        phones.append(phone)
    return Seeded(centre_id=centre.id, phones=phones)


def _staff(db: Session, now: datetime, plan: SeedPlan, role: Role, centre: JobCentre | None,
           created_by: Person | None) -> Person | None:
    """The first actor with ``role``, registered through a staff invite like a real one."""
    actor = next((a for a in plan.actors if a.role == role), None)
    if actor is None:
        return None
    known = people.by_telegram_id(db, actor.telegram_id)
    if known is not None:
        return known
    # Admins hold their role for every job centre, coaches for their own.
    invite = invites.create(db, now, role=role, created_by=created_by,
                            job_centre=None if role == Role.ADMIN else centre)
    return onboarding.accept_staff_invite(
        db, now, invite, person=None, telegram_user_id=actor.telegram_id,
        chat_id=actor.telegram_id, language=actor.language_code, display_name=actor.first_name,
    )


def _session_for_invite(db: Session, now: datetime, centre: JobCentre) -> InfoSession | None:
    """The first session whose day-before reminder is still ahead, so moving the clock a
    day shows it; the first open session otherwise."""
    upcoming = info_sessions.upcoming_with_places(db, now, centre.id, limit=10)
    for session in upcoming:
        if session.starts_at - timedelta(days=1) > now + timedelta(minutes=30):
            return session
    return upcoming[0] if upcoming else None
