"""Privacy declared, not remembered: every column of every table is declared in
bot/privacy.py, and every personal one is shown by /mydata and blanked by /stop and by
retention — proven column by column, so a new personal column cannot slip through."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import privacy
from bot.models import (
    AbsenceReason,
    AbsenceReport,
    AttendanceNote,
    Base,
    ConsoleSession,
    ConsoleSignInLink,
    ConversationState,
    Enrolment,
    Invite,
    OutboxMessage,
    Person,
    Role,
    Throttle,
)
from bot.privacy import Kind
from bot.services.attendance import absences, checkin, follow_up
from bot.services.messaging import outbox
from bot.services.people import enrolments, invites, people, retention
from bot.services.people.onboarding import throttle_key
from tests import factories
from tests.harness import Phone

BIRTH_YEAR = 1987
ABSENCE_NOTE = "Taking my son to the dentist"
COACH_NOTE = "Called her, all fine"


def test_every_column_of_every_table_is_declared():
    undeclared = [f"{table.name}.{column.name}" for table in Base.metadata.sorted_tables
                  for column in table.columns
                  if privacy.declared(table.name, column.name) is None]
    assert undeclared == [], (
        f"declare these columns in bot/privacy.py (personal or not, and why): {undeclared}")
    stale = [f"{table}.{column}" for table, columns in privacy.REGISTRY.items()
             for column in columns
             if table not in Base.metadata.tables
             or column not in Base.metadata.tables[table].columns]
    assert stale == [], f"declarations of columns that do not exist: {stale}"


# --- each personal column: how /mydata shows it, and how to see it was erased -------------
Ids = dict[str, Any]
SHOWN: dict[tuple[str, str], Callable[[str, Ids], bool]] = {
    ("person", "telegram_user_id"): lambda text, ids: f"Telegram id: {ids['tg']}" in text,
    ("person", "chat_id"): lambda text, ids: str(ids["chat"]) in text,
    ("person", "display_name"): lambda text, ids: "Name: Amina" in text,
    ("person", "gender"): lambda text, ids: "Gender: woman" in text,
    ("person", "birth_year"): lambda text, ids: f"Year of birth: {BIRTH_YEAR}" in text,
    ("absence_report", "note"): lambda text, ids: ABSENCE_NOTE in text,
    ("attendance_note", "text"): lambda text, ids: COACH_NOTE in text,
    ("invite", "opened_by_user_id"): lambda text, ids: (
        "Invite links opened on this account and not used yet: 1" in text),
    ("outbox_message", "params"): lambda text, ids: (
        "Messages to you waiting to be sent: 1" in text),
}


def _count(db: Session, query: Any) -> int:
    return db.scalar(select(func.count()).select_from(query.subquery())) or 0


ERASED: dict[tuple[str, str], Callable[[Session, Ids], bool]] = {
    ("person", "telegram_user_id"): lambda db, ids: db.get(Person, ids["person"])
    .telegram_user_id is None,
    ("person", "chat_id"): lambda db, ids: db.get(Person, ids["person"]).chat_id is None,
    ("person", "display_name"): lambda db, ids: db.get(Person, ids["person"])
    .display_name is None,
    ("person", "gender"): lambda db, ids: db.get(Person, ids["person"]).gender is None,
    ("person", "birth_year"): lambda db, ids: db.get(Person, ids["person"]).birth_year is None,
    ("absence_report", "note"): lambda db, ids: _count(db, select(AbsenceReport.id).where(
        AbsenceReport.enrolment_id == ids["enrolment"], AbsenceReport.note.is_not(None))) == 0,
    ("attendance_note", "text"): lambda db, ids: _count(db, select(AttendanceNote.id).where(
        AttendanceNote.enrolment_id == ids["enrolment"], AttendanceNote.text.is_not(None))) == 0,
    ("invite", "opened_by_user_id"): lambda db, ids: _count(db, select(Invite.id).where(
        Invite.opened_by_user_id == ids["tg"])) == 0,
    ("outbox_message", "params"): lambda db, ids: all(
        params == {} for params in db.scalars(select(OutboxMessage.params).where(
            OutboxMessage.recipient_id == ids["person"]))),
}
# Working state: nothing is shown, but erasure deletes it.
DELETED: dict[str, Callable[[Session, Ids], bool]] = {
    "conversation_state": lambda db, ids: _count(db, select(ConversationState.id).where(
        ConversationState.telegram_user_id == ids["tg"])) == 0,
    "throttle": lambda db, ids: _count(db, select(Throttle.id).where(Throttle.key.in_(
        [throttle_key(ids["tg"]), checkin.throttle_key(ids["person"])]))) == 0,
    "console_sign_in_link": lambda db, ids: _count(db, select(ConsoleSignInLink.id).where(
        ConsoleSignInLink.person_id == ids["person"])) == 0,
    "console_session": lambda db, ids: _count(db, select(ConsoleSession.id).where(
        ConsoleSession.person_id == ids["person"])) == 0,
    "outbox_message": lambda db, ids: _count(db, select(OutboxMessage.id).where(
        OutboxMessage.recipient_id == ids["person"], OutboxMessage.chat_id.is_not(None))) == 0,
}


def test_every_personal_column_has_a_proof():
    personal = set(privacy.columns_of(Kind.PERSONAL))
    assert personal == set(SHOWN) == set(ERASED), (
        "each personal column needs a case here: how /mydata shows it, how erasure blanks it")
    assert {table for table, _ in privacy.columns_of(Kind.TRANSIENT)} == set(DELETED)


async def _aspirant_with_everything(harness) -> Ids:
    """Amina, enrolled, with a value in every personal and transient column."""
    from tests.test_onboarding import agree

    now = harness.clock.now()
    coach_phone = harness.phone("Karin", "en")
    with harness.db() as db:
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, Role.COACH, centre, name="Karin", language="en",
                                telegram_user_id=coach_phone.id)
        code = factories.aspirant_invite(db, now, centre, coach).code
        other = factories.aspirant_invite(db, now, centre, coach)
        from bot.services.centres import org_settings

        org_settings.set_value(db, now, org_settings.RECORD_GENDER_AND_AGE, True, actor=None)
    amina = harness.phone("Amina", "en")
    await amina.send("/start not-a-code")  # counted against her account
    await agree(amina, code)
    with harness.db() as db:
        person = people.by_telegram_id(db, amina.id)
        enrolment = db.scalar(select(Enrolment).where(Enrolment.aspirant_id == person.id))
        coach = people.by_telegram_id(db, coach_phone.id)
        person.gender, person.birth_year = "woman", BIRTH_YEAR
        enrolment.intake_on = date(2026, 2, 27)  # came to the information session
        absences.report(db, now, person, AbsenceReason.OTHER, date(2026, 3, 3),
                        date(2026, 3, 3), ABSENCE_NOTE)
        follow_up.add_note(db, now, coach, enrolment.id, date(2026, 3, 2), COACH_NOTE)
        invites.hold(db, now, db.get(Invite, other.id), amina.id)  # opened before, not used
        outbox.enqueue(db, now, person, "Good, nothing has changed.",
                       params={"place": "Room 4"}, due_at=now + timedelta(days=2))
        checkin.count_bad_code(db, now, person)
        # Staff sign in to the console; rows as any person's would be, to see them erased.
        db.add(ConsoleSignInLink(person_id=person.id, token_hash="a" * 64, created_at=now,
                                 expires_at=now + timedelta(minutes=10), used_at=now))
        db.add(ConsoleSession(person_id=person.id, token_hash="b" * 64, language="en",
                              created_at=now, last_seen_at=now,
                              expires_at=now + timedelta(hours=12), ended_at=None))
        ids = {"person": person.id, "tg": amina.id, "chat": person.chat_id,
               "enrolment": enrolment.id, "coach": coach_phone}
    await amina.send("/absence")  # a conversation left open
    with harness.db() as db:
        assert _count(db, select(ConversationState.id)) == 1
        assert _count(db, select(Throttle.id)) == 2
    return ids


@pytest.mark.parametrize("how", ["stop", "retention"])
async def test_each_personal_column_is_shown_by_mydata_and_blanked_by_erasure(harness, how):
    ids = await _aspirant_with_everything(harness)
    amina = Phone(harness, harness.emulator.users[ids["tg"]])
    text = "\n".join(m["text"] for m in await amina.send("/mydata"))
    not_shown = [f"{t}.{c}" for (t, c), shown in SHOWN.items() if not shown(text, ids)]
    assert not_shown == [], f"/mydata does not show {not_shown}"

    if how == "stop":
        await amina.send("/stop")
        await amina.press("Yes, stop and erase")
    else:
        coach_phone = ids["coach"]
        with harness.db() as db:
            coach = people.by_telegram_id(db, coach_phone.id)
            enrolments.close(db, harness.clock.now(), coach, ids["enrolment"], "work")
        harness.clock.advance(timedelta(days=400))
        with harness.db() as db:
            assert retention.erase_expired(db, harness.clock.now()) == 1
    with harness.db() as db:
        kept = [f"{t}.{c}" for (t, c), erased in ERASED.items() if not erased(db, ids)]
        assert kept == [], f"erasure ({how}) left personal data in {kept}"
        left = [table for table, deleted in DELETED.items() if not deleted(db, ids)]
        assert left == [], f"erasure ({how}) left working state in {left}"
        assert db.get(Person, ids["person"]).erased_at is not None
