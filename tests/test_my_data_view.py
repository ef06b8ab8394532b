"""/mydata reads as what happened: a one-day absence once, a session that is over and
nobody marked not as "booked"."""

from __future__ import annotations

from datetime import date, timedelta

from bot.models import AbsenceReason
from bot.services.attendance import absences
from bot.services.people import people
from bot.services.sessions import info_sessions
from tests import factories
from tests.attendance_support import centre_with_staff, enrol
from tests.conftest import local


async def test_mydata_shows_a_one_day_absence_once_and_a_missed_session_as_not_recorded(
        harness):
    phone = harness.phone("Amina", "en")
    now = harness.clock.now()  # Monday 2 March 2026, 08:00
    with harness.db() as db:
        centre, coach, _lead = centre_with_staff(db, now)
        aspirant, _enrolment = enrol(db, now, centre, coach, "Amina",
                                     telegram_user_id=phone.id, language="en")
        past = factories.session(db, now, centre, local(2026, 3, 3, 9, 30))
        info_sessions.book(db, now, aspirant, past.id)
        absences.report(db, now, aspirant, AbsenceReason.ILL, date(2026, 3, 5), date(2026, 3, 5))
        absences.report(db, now, aspirant, AbsenceReason.SICK_CHILD, date(2026, 3, 9),
                        date(2026, 3, 10))
    await phone.send("/mydata")
    text = phone.last_text
    assert "• Tue 3 Mar 09:30 (booked)" in text  # still to come
    assert "• Thu 5 Mar: ill" in text
    assert "Thu 5 Mar–Thu 5 Mar" not in text
    assert "• Mon 9 Mar–Tue 10 Mar: sick child" in text

    harness.clock.advance(timedelta(days=2))  # the session is over; nobody marked Amina
    await phone.send("/mydata")
    assert "• Tue 3 Mar 09:30 (already held, attendance not recorded)" in phone.last_text
    with harness.db() as db:
        assert people.by_telegram_id(db, phone.id) is not None
