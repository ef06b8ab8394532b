"""Personal data is erased automatically once the retention period after leaving has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.errors import DomainError
from bot.models import AuditEntry, Enrolment, Person, Role
from bot.services.centres import org_settings
from bot.services.people import retention
from tests import factories


def _enrolled(db, now, centre, name):
    person = factories.staff(db, now, Role.ASPIRANT, centre, name=name)
    enrolment = Enrolment(aspirant_id=person.id, job_centre_id=centre.id, enrolled_at=now)
    db.add(enrolment)
    db.flush()
    return person, enrolment


def test_people_who_left_are_erased_after_the_period(db, clock):
    now = clock.now()
    centre = factories.centre(db, now)
    admin = factories.staff(db, now, Role.ADMIN, None, name="Sara")
    org_settings.set_value(db, now, org_settings.RETENTION_DAYS, "90", actor=admin)
    left_long_ago, e1 = _enrolled(db, now, centre, "Amina")
    left_recently, e2 = _enrolled(db, now, centre, "Omar")
    staying, _e3 = _enrolled(db, now, centre, "Erik")
    e1.left_at = now - timedelta(days=91)
    e2.left_at = now - timedelta(days=89)
    db.flush()

    assert retention.erase_expired(db, now) == 1
    db.refresh(left_long_ago)
    assert left_long_ago.erased_at is not None and left_long_ago.display_name is None
    assert left_recently.erased_at is None and staying.erased_at is None
    # The enrolment stays for the anonymous figures.
    assert db.get(Enrolment, e1.id) is not None
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "person.erase")).all()
    assert [a.details["reason"] for a in audit] == ["retention"]
    # Running again changes nothing.
    assert retention.erase_expired(db, now) == 0
    assert db.scalar(select(Person).where(Person.id == left_recently.id)).erased_at is None


def test_settings_are_validated_and_audited(db, clock):
    now = clock.now()
    assert org_settings.get(db, org_settings.RETENTION_DAYS) == 365
    assert org_settings.get(db, org_settings.RECORD_GENDER_AND_AGE) is False
    for bad in ("soon", 5, True):
        with pytest.raises(DomainError):
            org_settings.set_value(db, now, org_settings.RETENTION_DAYS, bad, actor=None)
    with pytest.raises(DomainError):
        org_settings.set_value(db, now, "colour", "blue", actor=None)
    assert org_settings.get(db, org_settings.RETENTION_DAYS) == 365
    assert org_settings.set_value(db, now, org_settings.RECORD_GENDER_AND_AGE, "yes",
                                  actor=None) is True
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "setting.change"))
    assert entry.details == {"key": "record_gender_and_age", "old": None, "new": True}


async def test_coach_ends_an_enrolment_and_retention_erases_later(harness):
    from bot.models import OutboxMessage, OutboxStatus

    now = harness.clock.now()
    coach_phone = harness.phone("Karin", "en")
    amina = harness.phone("Amina", "en")
    with harness.db() as db:
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, Role.COACH, centre, language="en",
                                telegram_user_id=coach_phone.id)
        person = factories.staff(db, now, Role.ASPIRANT, centre, name="Amina", language="en",
                                 telegram_user_id=amina.id)
        enrolment = Enrolment(aspirant_id=person.id, job_centre_id=centre.id,
                              coach_id=coach.id, attendance_required=True, enrolled_at=now)
        db.add(enrolment)
        db.flush()
        enrolment_id, person_id = enrolment.id, person.id
        org_settings.set_value(db, now, org_settings.RETENTION_DAYS, 30, actor=None)
    await coach_phone.send("/caseload")
    await coach_phone.press(data=f"cl:d:{enrolment_id}")
    await coach_phone.press("End the enrolment")
    await coach_phone.press("got a job")
    assert coach_phone.last_text == ("End the enrolment of Amina (got a job)? Their reminders "
                                     "stop and they are told.")
    await coach_phone.press("Yes, end it")
    assert coach_phone.last_text == "The enrolment of Amina has ended."
    await harness.dispatch()
    assert amina.last_text.startswith("Your time with the job centre Jobbtorg Kista has ended.")
    assert "erased after 30 days" in amina.last_text
    with harness.db() as db:
        enrolment = db.get(Enrolment, enrolment_id)
        assert enrolment.exit_reason == "work" and enrolment.left_at is not None
        pending = db.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient_id == person_id,
            OutboxMessage.status == OutboxStatus.PENDING)).all()
        assert pending == []
    # Pressing again changes nothing.
    await coach_phone.press_data(coach_phone.bot_messages[-1]["message_id"],
                                 f"ex:c:{enrolment_id}:w")
    assert harness.emulator.callback_answers[-1]["text"] in (
        "This enrolment has already ended.",
        "This aspirant is not in your caseload (any more).")
    harness.clock.advance(timedelta(days=29))
    with harness.db() as db:
        assert retention.erase_expired(db, harness.clock.now()) == 0
    harness.clock.advance(timedelta(days=2))
    with harness.db() as db:
        assert retention.erase_expired(db, harness.clock.now()) == 1
        assert db.get(Person, person_id).display_name is None
