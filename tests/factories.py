"""Set-up through the project's own services, as staff would do it."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from sqlalchemy.orm import Session

from bot.models import InfoSession, Invite, JobCentre, Person, Role
from bot.services.centres import centres
from bot.services.people import invites, people
from bot.services.sessions import info_sessions

_ids = count(900001)


def centre(db: Session, now: datetime, name: str = "Jobbtorg Kista", **kwargs: object
           ) -> JobCentre:
    kwargs.setdefault("address", "Kistagången 2, 164 40 Kista")
    kwargs.setdefault("latitude", 59.4032)
    kwargs.setdefault("longitude", 17.9448)
    return centres.create(db, now, name=name, **kwargs)  # type: ignore[arg-type]


def staff(db: Session, now: datetime, role: Role, centre: JobCentre | None,
          name: str = "Coach", language: str = "sv", telegram_user_id: int | None = None
          ) -> Person:
    uid = telegram_user_id or next(_ids)
    person = people.create_person(db, now, telegram_user_id=uid, chat_id=uid,
                                  language=language, display_name=name)
    person.consent_at = now
    people.grant_role(db, now, person, role, job_centre_id=centre.id if centre else None)
    return person


def session(db: Session, now: datetime, centre: JobCentre, starts_at: datetime,
            capacity: int = 20, **kwargs: object) -> InfoSession:
    return info_sessions.create(db, now, job_centre=centre, starts_at=starts_at,
                                capacity=capacity, **kwargs)  # type: ignore[arg-type]


def aspirant_invite(db: Session, now: datetime, centre: JobCentre, coach: Person | None = None,
                    info_session: InfoSession | None = None, attendance_required: bool = True,
                    valid_for: timedelta = timedelta(days=14)) -> Invite:
    return invites.create(db, now, role=Role.ASPIRANT, job_centre=centre, coach=coach,
                          info_session=info_session, attendance_required=attendance_required,
                          valid_for=valid_for)
