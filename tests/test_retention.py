"""Personal data is erased automatically once the retention period after leaving has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.errors import DomainError
from bot.models import AuditEntry, Enrolment, Person, Role
from bot.services import org_settings, retention
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
