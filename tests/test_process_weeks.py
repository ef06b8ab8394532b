"""Whole weeks in the chat, on the injected clock, as the job centre's process says:
no absence before the intake; a reported absence stays "reported" until the coach judges
it; and the social worker sees their own aspirants' statements and nobody else's."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from sqlalchemy import select

from bot.models import (
    AttendanceRecord,
    AttendanceStatus,
    Enrolment,
    JobCentre,
    Person,
    Role,
)
from bot.services.attendance import checkin_codes
from bot.services.reminders import planner as reminders
from bot.services.reminders import rules as reminder_rules
from bot.services.sessions import info_sessions
from scheduler import attendance_jobs
from tests import factories
from tests.attendance_support import code_now, enrol
from tests.conftest import local

MONDAY = date(2026, 3, 2)
WEEK = [MONDAY + timedelta(days=n) for n in range(5)]


async def _centre(harness, *names, intake="before"):  # type: ignore[no-untyped-def]
    """A centre with the default reminder rules, a coach and a team lead (English), and
    aspirants with a daily requirement."""
    now = harness.clock.now()
    coach = harness.phone("Karin", "en")
    lead = harness.phone("Lars", "en")
    phones = {name: harness.phone(name, "en") for name in names}
    with harness.db() as db:
        centre = factories.centre(db, now)
        reminder_rules.install_defaults(db, now)
        karin = factories.staff(db, now, Role.COACH, centre, name="Karin", language="en",
                                telegram_user_id=coach.id)
        factories.staff(db, now, Role.TEAM_LEAD, centre, name="Lars", language="en",
                        telegram_user_id=lead.id)
        for name, phone in phones.items():
            enrol(db, now, centre, karin, name, telegram_user_id=phone.id, language="en",
                  intake=intake)
        centre_id = centre.id
    await harness.dispatch()
    for phone in (coach, lead, *phones.values()):
        phone.new_messages()
    return centre_id, coach, lead, phones


async def _at(harness, day: date, hour: int, minute: int = 0) -> None:  # type: ignore[no-untyped-def]
    """Move the clock, let the hourly planning and the attendance job run, send what is due."""
    harness.clock.set(local(day.year, day.month, day.day, hour, minute))
    now = harness.clock.now()
    await harness.runtime.database.run(lambda db: reminders.plan_horizon(db, now))
    await attendance_jobs.tick(harness.runtime)
    await harness.dispatch()


async def _day(harness, day: date) -> None:  # type: ignore[no-untyped-def]
    """A check-in day: the morning, the window's end, and the wait for the answers."""
    for hour, minute in ((7, 0), (8, 15), (10, 16), (10, 46), (12, 0)):
        await _at(harness, day, hour, minute)


def _records(harness, name: str) -> dict[date, AttendanceStatus]:  # type: ignore[no-untyped-def]
    with harness.db() as db:
        return dict(db.execute(
            select(AttendanceRecord.day, AttendanceRecord.status)
            .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
            .join(Person, Person.id == Enrolment.aspirant_id)
            .where(Person.display_name == name)).all())


async def test_no_absence_before_the_intake_and_the_requirement_from_the_day_after(harness):
    """Invited on Monday, information session on Thursday: nobody asks why, alerts or
    escalates before Friday; from Friday the daily check-in applies."""
    centre_id, coach, lead, phones = await _centre(harness, "Yusuf", intake=None)
    yusuf = phones["Yusuf"]
    with harness.db() as db:
        centre = db.get(JobCentre, centre_id)
        session = factories.session(db, harness.clock.now(), centre, local(2026, 3, 5, 10, 0))
        info_sessions.book(db, harness.clock.now(),
                           db.scalar(select(Person).where(Person.display_name == "Yusuf")),
                           session.id)
    for day in WEEK[:3]:  # Monday to Wednesday
        await _day(harness, day)
    # Thursday: he checks in at the information session; that is his intake.
    await _at(harness, WEEK[3], 7, 0)
    harness.clock.set(local(2026, 3, 5, 9, 50))
    with harness.db() as db:
        code = code_now(db, db.get(JobCentre, centre_id), harness.clock.now())
    (welcome,) = await yusuf.send(f"/start {checkin_codes.start_param(centre_id, code)}")
    assert welcome["text"] == ("✅ Welcome to the information session! Your attendance is "
                               "recorded.")
    for hour, minute in ((10, 16), (10, 46), (12, 0)):
        await _at(harness, WEEK[3], hour, minute)
    before_friday = [m["text"] for m in yusuf.new_messages()]
    # Until the intake: reminders of the session only, no check-in, no "why?".
    assert not [t for t in before_friday if "check in" in t or "absent" in t]
    # The coach had the morning digests and the session's reminders; no alert, nothing
    # escalated to the team lead.
    coach_texts = [m["text"] for m in coach.new_messages()]
    assert coach_texts and not [t for t in coach_texts if t.startswith("Not checked in")]
    assert not [m for m in lead.new_messages() if "absent" in m["text"]]
    assert _records(harness, "Yusuf") == {}
    # Friday: the requirement has started.
    await _at(harness, WEEK[4], 8, 15)
    (reminder,) = yusuf.new_messages()
    assert reminder["text"].startswith("Good morning! Remember to check in at the job centre")
    await _at(harness, WEEK[4], 10, 16)
    (why,) = yusuf.new_messages()
    assert why["text"].startswith("We did not see you at the job centre today (Friday")
    assert not [m for m in coach.new_messages() if m["text"].startswith("Not checked in")]
    await _at(harness, WEEK[4], 10, 46)  # ask first: the alert after the wait
    (alert,) = [m for m in coach.new_messages() if m["text"].startswith("Not checked in")]
    assert alert["text"].splitlines()[2:4] == ["1. \u2068Yusuf\u2069", "    💬 No answer yet."]
    assert not [m for m in lead.new_messages() if "absent" in m["text"]]
    assert _records(harness, "Yusuf") == {WEEK[4]: AttendanceStatus.UNEXCUSED}
    # His statement for the week lists Friday only.
    await coach.send("/caseload")
    await coach.press("1. Yusuf")
    assert "Daily check-in: required from Fri 6 Mar" in coach.last_text
    harness.clock.set(local(2026, 3, 7, 12, 0))  # Saturday
    await coach.press("📄 Attendance statement")
    text, _document = await coach.press("Last 30 days")
    assert "Check-in days: 1" in text["text"]
    assert "Absent, no reason given: 1" in text["text"]
    assert "The daily check-in started on Friday, 6 March 2026." in text["text"]


async def test_a_reported_absence_stays_reported_until_the_coach_judges_it(harness):
    _centre_id, coach, _lead, phones = await _centre(harness, "Amina")
    amina = phones["Amina"]
    # Monday: Amina reports a job interview for Tuesday to Thursday.
    await amina.send("/absence")
    await amina.press("Job interview")
    await amina.press("Several days")
    await amina.press(data="ab:d:20260303")
    await amina.press(data="ab:d:20260305")
    await harness.dispatch()
    (notice,) = coach.new_messages()
    assert notice["text"] == ("Amina reported an absence from Tuesday, 3 March 2026 to "
                              "Thursday, 5 March 2026: Job interview.")
    assert coach.buttons(notice) == ["✔️ Valid absence", "❌ Not valid"]
    # A second reason for one of those days is refused.
    await amina.send("/absence")
    await amina.press("Ill")
    await amina.press("Another day")
    await amina.press(data="ab:d:20260304")
    assert harness.emulator.callback_answers[-1]["text"].startswith(
        "You have already reported an absence on Wednesday, 4 March 2026.")
    for day in WEEK[1:4]:
        await _day(harness, day)
    # Three days passed: reported, not valid by themselves; no "why?", no alert.
    assert _records(harness, "Amina") == {day: AttendanceStatus.REPORTED for day in WEEK[1:4]}
    assert not [m for m in amina.new_messages() if "Why were you absent" in m["text"]]
    assert not [m for m in coach.new_messages() if m["text"].startswith("Not checked in")]
    await coach.send("/caseload")
    await coach.press("1. Amina")
    await coach.press("📄 Attendance statement")
    text, _ = await coach.press("This month")
    assert "Absent, reason reported, not judged yet: 3" in text["text"]
    # Friday: the coach judges it valid from the notice, then changes their mind.
    await _at(harness, WEEK[4], 9, 0)
    await coach.press("✔️ Valid absence", message=notice)
    judged = harness.emulator.find_message(coach.id, notice["message_id"])
    assert judged["text"].endswith("✓ Judged valid by \u2068Karin\u2069.")
    assert coach.buttons(judged) == ["❌ Not valid"]
    assert _records(harness, "Amina") == {day: AttendanceStatus.EXCUSED for day in WEEK[1:4]}
    await coach.press("❌ Not valid", message=judged)
    assert _records(harness, "Amina") == {day: AttendanceStatus.UNEXCUSED for day in WEEK[1:4]}
    await coach.send("/caseload")
    await coach.press("1. Amina")
    await coach.press("📄 Attendance statement")
    text, document = await coach.press("This month")
    assert "Absent, judged not valid by the coach: 3" in text["text"]
    _, content, _ = harness.emulator.files[document["document"]["file_id"]]
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][4:8] == ["Status", "Reason reported", "Judgement", "Judged by"]
    assert rows[2][2] == "2026-03-03"
    assert rows[2][4:8] == ["absent, judged not valid", "Job interview", "not valid", "Karin"]


async def test_the_social_worker_sees_their_aspirants_statements_and_no_one_elses(harness):
    centre_id, coach, _lead, phones = await _centre(harness, "Amina", "Bashir")
    worker = harness.phone("Sofia", "en")
    other_worker = harness.phone("Olof", "en")
    with harness.db() as db:
        centre = db.get(JobCentre, centre_id)
        for name, phone in (("Sofia", worker), ("Olof", other_worker)):
            factories.staff(db, harness.clock.now(), Role.SOCIAL_WORKER, centre, name=name,
                            language="en", telegram_user_id=phone.id)
    # The coach links Amina (not Bashir) to Sofia.
    await coach.send("/caseload")
    await coach.press("1. Amina")
    await coach.press("👤 Social worker")
    assert coach.buttons()[:2] == ["Olof", "Sofia"]
    await coach.press("Sofia")
    assert "Social worker: \u2068Sofia\u2069" in coach.last_text
    await harness.dispatch()
    assert "Sofia now gets your attendance" in phones["Amina"].last_text
    assert worker.last_text.startswith("Amina (Jobbtorg Kista) is now linked to you")
    # A week: Amina present Monday, absent Tuesday (explains: ill); Bashir absent all week.
    for day in WEEK:
        if day == WEEK[0]:
            harness.clock.set(local(2026, 3, 2, 8, 45))
            with harness.db() as db:
                code = code_now(db, db.get(JobCentre, centre_id), harness.clock.now())
            await phones["Amina"].send(f"/start {checkin_codes.start_param(centre_id, code)}")
        await _at(harness, day, 10, 16)
        if day == WEEK[1]:
            await phones["Amina"].press("Ill")
        await _at(harness, day, 10, 46)
    # Monday morning: Sofia's weekly statement, about Amina only.
    await _at(harness, MONDAY + timedelta(days=7), 8, 0)
    weekly = [m for m in worker.new_messages() if m["text"].startswith("Attendance last week")]
    assert len(weekly) == 1
    text = weekly[0]["text"]
    assert "Amina" in text and "Bashir" not in text
    assert "present 1" in text and "reported, not judged 1" in text
    assert "Ill, not judged yet" in text
    assert other_worker.new_messages() == []
    # In chat: /statements lists Amina alone; her plan and statement are there.
    (listing,) = await worker.send("/statements")
    assert worker.buttons(listing) == ["Amina · Jobbtorg Kista"]
    await worker.press("Amina · Jobbtorg Kista")
    assert "First job plan: was due on Fri 6 Mar" in worker.last_text
    text, document = await worker.press("Last week")
    assert text["text"].startswith("Attendance statement: Amina, Jobbtorg Kista")
    assert document["document"]["file_name"].endswith(".csv")
    # Bashir's statement through a forged button: refused, as for anyone not linked.
    with harness.db() as db:
        bashir = db.scalar(select(Enrolment.id).join(Person, Person.id == Enrolment.aspirant_id)
                           .where(Person.display_name == "Bashir"))
        amina = db.scalar(select(Enrolment.id).join(Person, Person.id == Enrolment.aspirant_id)
                          .where(Person.display_name == "Amina"))
    await worker.press_data(listing["message_id"], f"sw:s:{bashir}:pw")
    assert "not in your caseload" in harness.emulator.callback_answers[-1]["text"]
    (olof_listing,) = await other_worker.send("/statements")
    assert olof_listing["text"].startswith("No aspirant is linked to you yet.")
    await other_worker.press_data(olof_listing["message_id"], f"sw:s:{amina}:pw")
    assert "not in your caseload" in harness.emulator.callback_answers[-1]["text"]
    # Nothing else is open to a social worker.
    for command in ("/caseload", "/plan", "/report", "/invite", "/sessions", "/admin"):
        (refused,) = await worker.send(command)
        assert refused["text"] == "Sorry, this is not available to you.", command
    await worker.press_data(listing["message_id"], f"cl:d:{amina}")
    assert harness.emulator.callback_answers[-1]["text"] == "Sorry, this is not available to you."
    # Amina sees who gets her data.
    await phones["Amina"].send("/mydata")
    assert "Social worker who gets your attendance and plan: Sofia" in phones[
        "Amina"].last_text


async def test_a_social_worker_is_invited_like_staff_and_sees_only_their_commands(harness):
    now = harness.clock.now()
    admin = harness.phone("Maria", "en")
    with harness.db() as db:
        centre = factories.centre(db, now)
        factories.staff(db, now, Role.ADMIN, centre, name="Maria", language="en",
                        telegram_user_id=admin.id)
    await admin.send("/invite")
    assert "Social worker" in admin.buttons()
    await admin.press("Social worker")
    link = admin.bot_messages[-2]["text"].split()[-1]
    assert link.startswith("https://t.me/")
    sofia = harness.phone("Sofia", "en")
    replies = await sofia.send(f"/start {link.rsplit('=', 1)[1]}")
    assert replies[0]["text"] == ("You are now registered as social worker for Jobbtorg "
                                  "Kista.")
    (help_text,) = await sofia.send("/help")
    assert help_text["text"].splitlines()[1:] == [
        "/statements — My aspirants' attendance and plans", "/language — Language",
        "/help — Help", "/mydata — My data", "/stop — Stop and erase my data"]


async def test_six_months_after_leaving_the_coach_records_whether_they_support_themselves(
        harness):
    _centre_id, coach, _lead, phones = await _centre(harness, "Amina")
    with harness.db() as db:
        from bot.services.people import enrolments

        enrolment = db.scalar(select(Enrolment))
        karin = db.scalar(select(Person).where(Person.display_name == "Karin"))
        enrolments.close(db, harness.clock.now(), karin, enrolment.id, "work")
    await harness.dispatch()
    coach.new_messages()
    # Monday 2 March + 6 months: Wednesday 2 September, at 09:00 the coach is asked.
    harness.clock.set(local(2026, 9, 2, 8, 59))
    await harness.dispatch()
    assert coach.new_messages() == []
    harness.clock.set(local(2026, 9, 2, 9, 0))
    await harness.dispatch()
    (question,) = coach.new_messages()
    assert question["text"] == ("Six months ago Amina left the job centre (Jobbtorg Kista). "
                                "Do they support themselves now? Please find out and record it.")
    assert coach.buttons(question) == ["Self-supporting", "Not self-supporting",
                                       "Could not find out"]
    await coach.press("Self-supporting", message=question)
    assert coach.bot_messages[-1]["text"] == "Follow-up of Amina: self-supporting. Thank you."
    await phones["Amina"].send("/mydata")
    assert "Follow-up six months after you left: self-supporting" in phones["Amina"].last_text
    with harness.db() as db:
        from bot.services.figures import figures

        report = figures.compute(db, date(2026, 9, 1), date(2026, 9, 30))
        assert (report.total.follow_ups.self_supporting.hits,
                report.total.follow_ups.self_supporting.total) == (1, 1)
