"""Attendance in the chat: checking in, reporting absence, and the coach acting on alerts."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from sqlalchemy import select

from bot.models import AttendanceNote, AttendanceRecord, AttendanceStatus, Role
from bot.services.attendance import checkin_codes
from bot.services.attendance import policy as attendance_policy
from scheduler import attendance_jobs
from tests import factories
from tests.attendance_support import code_now, enrol
from tests.conftest import local

MONDAY = date(2026, 3, 2)


async def setup(harness, *names, required=True, **policy):  # type: ignore[no-untyped-def]
    """A centre, a coach with a phone, and aspirants with phones (all in English)."""
    now = harness.clock.now()
    coach_phone = harness.phone("Karin", "en")
    lead_phone = harness.phone("Lars", "en")
    phones = [harness.phone(name, "en") for name in names]
    with harness.db() as db:
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, Role.COACH, centre, name="Karin", language="en",
                                telegram_user_id=coach_phone.id)
        factories.staff(db, now, Role.TEAM_LEAD, centre, name="Lars", language="en",
                        telegram_user_id=lead_phone.id)
        attendance_policy.update(db, now, centre, actor=None, **policy)
        for phone, name in zip(phones, names, strict=True):
            enrol(db, now, centre, coach, name, required=required, telegram_user_id=phone.id,
                  language="en")
        centre_id = centre.id
    # The coach's "has joined" notices are not what these tests look at.
    await harness.dispatch()
    coach_phone.new_messages()
    harness.lead_phone = lead_phone  # type: ignore[attr-defined]
    return centre_id, coach_phone, phones


async def detect_and_alert(harness, day: int = 2, month: int = 3):  # type: ignore[no-untyped-def]
    """Absences detected after the window (the aspirants asked at once), then the coaches'
    alerts after the default 30-minute wait for the answers."""
    harness.clock.set(local(2026, month, day, 10, 16))
    await attendance_jobs.tick(harness.runtime)
    await harness.dispatch()
    harness.clock.set(local(2026, month, day, 10, 46))
    await attendance_jobs.tick(harness.runtime)
    await harness.dispatch()


def code(harness, centre_id):  # type: ignore[no-untyped-def]
    with harness.db() as db:
        from bot.models import JobCentre

        return code_now(db, db.get(JobCentre, centre_id), harness.clock.now())


def status(harness, name, day=MONDAY):  # type: ignore[no-untyped-def]
    from bot.models import Enrolment, Person

    with harness.db() as db:
        return db.scalar(select(AttendanceRecord.status)
                         .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
                         .join(Person, Person.id == Enrolment.aspirant_id)
                         .where(Person.display_name == name, AttendanceRecord.day == day))


# --- checking in ----------------------------------------------------------------------------
async def test_scanning_the_qr_link_checks_in(harness):
    centre_id, _, (amina,) = await setup(harness, "Amina")
    harness.clock.set(local(2026, 3, 2, 8, 45))
    link = checkin_codes.start_param(centre_id, code(harness, centre_id))
    (reply,) = await amina.send(f"/start {link}")
    assert reply["text"].startswith("✅ You are checked in for today")
    assert status(harness, "Amina") == AttendanceStatus.PRESENT
    (again,) = await amina.send(f"/start {link}")
    assert again["text"].startswith("You have already checked in today, at 08:45")


async def test_wrong_codes_get_a_clear_answer_and_are_rate_limited(harness):
    centre_id, _, (amina,) = await setup(harness, "Amina")
    harness.clock.set(local(2026, 3, 2, 8, 45))
    right = code(harness, centre_id)
    wrong = checkin_codes.start_param(centre_id, str((int(right) + 1) % 10**6).zfill(6))
    for _ in range(5):
        (reply,) = await amina.send(f"/start {wrong}")
        assert reply["text"].startswith("This code is not right")
    (reply,) = await amina.send(f"/start {checkin_codes.start_param(centre_id, right)}")
    assert reply["text"].startswith("Too many wrong codes")
    (reply,) = await amina.send("/start ci_x")
    assert reply["text"].startswith("This check-in link is not valid")
    assert status(harness, "Amina") is None


async def test_a_stale_code_is_named_as_expired(harness):
    centre_id, _, (amina,) = await setup(harness, "Amina")
    harness.clock.set(local(2026, 3, 2, 8, 45))
    old = code(harness, centre_id)
    harness.clock.advance(timedelta(minutes=3))
    (reply,) = await amina.send(f"/start {checkin_codes.start_param(centre_id, old)}")
    assert reply["text"].startswith("This code has expired")


async def test_a_link_of_another_centre_is_refused(harness):
    _centre_id, _, (amina,) = await setup(harness, "Amina")
    with harness.db() as db:
        other = factories.centre(db, harness.clock.now(), "Jobbtorg Farsta")
        other_id = other.id
    harness.clock.set(local(2026, 3, 2, 8, 45))
    (reply,) = await amina.send(
        f"/start {checkin_codes.start_param(other_id, code(harness, other_id))}")
    assert "belongs to another job centre" in reply["text"]
    assert "Jobbtorg Kista" in reply["text"]


async def test_someone_unknown_scanning_the_code_is_told_to_use_their_invite(harness):
    centre_id, _, _ = await setup(harness)
    stranger = harness.phone("Eve", "en")
    harness.clock.set(local(2026, 3, 2, 8, 45))
    (reply,) = await stranger.send(
        f"/start {checkin_codes.start_param(centre_id, code(harness, centre_id))}")
    assert "invite link" in reply["text"]


async def test_checking_in_from_the_menu_by_typing_the_code(harness):
    centre_id, _, (amina,) = await setup(harness, "Amina")
    harness.clock.set(local(2026, 3, 2, 9, 5))
    (prompt,) = await amina.send("✅ Check in")
    assert prompt["text"].startswith("Please type the 6-digit code")
    for _ in range(6):  # typing slips are not guesses: no waiting time for them
        (reply,) = await amina.send("12")
        assert reply["text"].startswith("A check-in code has 6 digits")
    current = code(harness, centre_id)
    (reply,) = await amina.send(f"{current[:3]} {current[3:]}")
    assert reply["text"].startswith("✅ You are checked in for today")
    assert amina.reply_keyboard  # the menu is back


async def test_outside_the_window_the_check_in_says_when(harness):
    _, _, (amina,) = await setup(harness, "Amina")
    (reply,) = await amina.send("/checkin")  # 08:00
    assert reply["text"] == "Check-in opens at 08:30 today. Please come back then."
    harness.clock.set(local(2026, 3, 2, 10, 30))
    (reply,) = await amina.send("/checkin")
    assert reply["text"].startswith("Check-in closed at 10:15 today")


async def test_checking_in_with_a_shared_location(harness):
    _centre_id, _, (amina,) = await setup(harness, "Amina", location_rule="alternative",
                                         radius_m=150)
    harness.clock.set(local(2026, 3, 2, 9, 0))
    (prompt,) = await amina.send("/checkin")
    assert "share your live location: tap 📎, then Location" in prompt["text"]
    # The keyboard's location button would send a pin, which does not count here.
    assert not any(isinstance(b, dict) and b.get("request_location")
                   for row in amina.reply_keyboard for b in row)
    (reply,) = await amina.share_location(59.4132, 17.9448, live_period=900)  # 1.1 km away
    assert reply["text"].startswith("Your location is about 1,110 m from the job centre")
    (reply,) = await amina.share_location(59.4035, 17.9450, live_period=900)
    assert reply["text"].startswith("✅ You are checked in for today")


async def test_when_required_the_location_follows_the_code(harness):
    centre_id, _, (amina,) = await setup(harness, "Amina", location_rule="required")
    harness.clock.set(local(2026, 3, 2, 9, 0))
    link = checkin_codes.start_param(centre_id, code(harness, centre_id))
    (reply,) = await amina.send(f"/start {link}")
    assert reply["text"].startswith("The code is right. Now please share your live location")
    harness.clock.advance(timedelta(minutes=2))
    (reply,) = await amina.share_location(59.4032, 17.9448, live_period=3600)
    assert reply["text"].startswith("✅ You are checked in for today")


# --- absence reports ------------------------------------------------------------------------
async def test_reporting_an_absence_for_several_days_tells_the_coach(harness):
    _, coach, (amina,) = await setup(harness, "Amina")
    (question,) = await amina.send("🤒 Report absence")
    assert question["text"] == "Why will you be absent?"
    assert amina.buttons() == ["Ill", "Sick child", "Job interview", "Other appointment",
                               "Other reason", "Cancel"]
    await amina.press("Ill")
    assert amina.last_text == "When?"
    await amina.press("Several days")
    assert amina.last_text == "From which day?"
    await amina.press(data="ab:d:20260303")
    assert amina.last_text.startswith("Until which day")
    assert "Mon 2 Mar" not in amina.buttons()  # not before the first day
    await amina.press(data="ab:d:20260305")
    assert amina.last_text == ("Thank you. Your absence from Tuesday, 3 March 2026 to Thursday, "
                               "5 March 2026 (Ill) is reported, and your coach has been told.")
    await harness.dispatch()
    (notice,) = coach.new_messages()
    assert notice["text"] == ("Amina reported an absence from Tuesday, 3 March 2026 to "
                              "Thursday, 5 March 2026: Ill.")


async def test_another_reason_is_written_in_words(harness):
    _, coach, (amina,) = await setup(harness, "Amina")
    await amina.send("/absence")
    await amina.press("Other reason")
    assert amina.last_text == "Please write the reason in a few words:"
    (when,) = await amina.send("Court hearing")
    assert when["text"] == "When?"
    await amina.press("Today")
    await harness.dispatch()
    (notice,) = coach.new_messages()
    assert notice["text"].endswith(": Other reason (Court hearing).")
    # Reported before the window closed: no alert, and "reported" until the coach judges.
    await detect_and_alert(harness)
    assert coach.new_messages() == []
    assert status(harness, "Amina") == AttendanceStatus.REPORTED


# --- the coach's alert ----------------------------------------------------------------------
async def test_one_checks_in_one_misses_and_the_coach_gets_one_correct_alert(harness):
    centre_id, coach, (amina, yusuf) = await setup(harness, "Amina", "Yusuf")
    harness.clock.set(local(2026, 3, 2, 8, 50))
    await amina.send(f"/start {checkin_codes.start_param(centre_id, code(harness, centre_id))}")
    amina.new_messages()
    harness.clock.set(local(2026, 3, 2, 10, 16))
    await attendance_jobs.tick(harness.runtime)
    await attendance_jobs.tick(harness.runtime)  # asking twice changes nothing
    await harness.dispatch()
    # Ask first: the aspirant now, the coach after the wait.
    (why,) = yusuf.new_messages()
    assert why["text"].startswith("We did not see you at the job centre today")
    assert "Ill" in yusuf.buttons(why)
    assert coach.new_messages() == []
    harness.clock.set(local(2026, 3, 2, 10, 46))
    await attendance_jobs.tick(harness.runtime)
    await harness.dispatch()

    (alert,) = coach.new_messages()
    assert alert["text"].splitlines()[:4] == [
        "Not checked in today (Monday, 2 March 2026) at Jobbtorg Kista:", "",
        "1. \u2068Yusuf\u2069", "    💬 No answer yet."]
    assert "Amina" not in alert["text"]
    # At most three buttons a row, each with the aspirant's number.
    rows = alert["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [
        ["1 ✔️ Valid", "1 ❌ Not valid", "1 ✅ Present"], ["1 📞 Contacted", "1 📝 Note"],
        ["👍 Seen, I'll follow up"]]
    assert amina.new_messages() == []

    await coach.press("1 ✔️ Valid")
    edited = coach.bot_messages[-1]
    assert "1. \u2068Yusuf\u2069 — ✓ valid absence" in edited["text"]
    assert coach.buttons(edited) == ["1 ❌ Not valid"]  # the judgement can be changed
    assert status(harness, "Yusuf") == AttendanceStatus.EXCUSED
    await coach.press("1 ❌ Not valid")
    assert "— ✓ absence not valid" in coach.bot_messages[-1]["text"]
    assert status(harness, "Yusuf") == AttendanceStatus.UNEXCUSED
    # Acted on: not sent again.
    harness.clock.advance(timedelta(hours=2))
    await attendance_jobs.tick(harness.runtime)
    await harness.dispatch()
    assert coach.new_messages() == []


async def test_two_missed_days_in_a_row_reach_the_team_lead(harness):
    _, coach, _ = await setup(harness, "Yusuf", streak_limit=2, window_limit=0)
    for day in (2, 3):
        await detect_and_alert(harness, day)
    first, second = [m for m in coach.new_messages() if m["text"].startswith("Not checked in")]
    assert "⚠️" not in first["text"]
    assert "⚠️ 2 unexcused absences in a row; the team lead has been told." in second["text"]
    (escalation,) = harness.lead_phone.new_messages()
    assert escalation["text"] == ("Repeated absence: Yusuf (Jobbtorg Kista) has been absent "
                                  "without an excuse 2 check-in days in a row. Their coach has "
                                  "been told.")


async def test_the_answer_comes_in_the_alert_and_a_late_one_updates_it(harness):
    _centre_id, coach, (yusuf, ali) = await setup(harness, "Yusuf", "Ali")
    harness.clock.set(local(2026, 3, 2, 10, 16))
    await attendance_jobs.tick(harness.runtime)
    await harness.dispatch()
    harness.clock.set(local(2026, 3, 2, 10, 30))
    await yusuf.press("Sick child")
    assert yusuf.last_text == "Thank you. Your coach has been told: Sick child."
    assert status(harness, "Yusuf") == AttendanceStatus.REPORTED
    harness.clock.set(local(2026, 3, 2, 10, 46))
    await attendance_jobs.tick(harness.runtime)
    await harness.dispatch()
    (alert,) = coach.new_messages()
    lines = alert["text"].splitlines()
    assert lines[2:6] == ["1. \u2068Yusuf\u2069", "    💬 Answer: Sick child",
                          "2. \u2068Ali\u2069", "    💬 No answer yet."]
    # Ali answers after the alert went out: it comes again, updated.
    harness.clock.set(local(2026, 3, 2, 11, 30))
    why, ill = ali.find_button("Ill")
    await ali.press("Ill")
    await harness.dispatch()
    (updated,) = coach.new_messages()
    assert updated["text"].startswith("Update to the alert of Monday, 2 March 2026 at "
                                      "Jobbtorg Kista: an aspirant has answered.")
    assert "    💬 Answer: Ill" in updated["text"]
    await coach.press("2 ✔️ Valid", message=updated)
    assert status(harness, "Ali") == AttendanceStatus.EXCUSED
    # The old question's buttons say it is settled, and go.
    await ali.press_data(why["message_id"], ill["callback_data"])
    assert harness.emulator.find_message(ali.id, why["message_id"])["text"] == (
        "You have already told us why. Thank you!")


async def test_an_answer_after_the_coach_marked_present_is_refused_and_its_buttons_go(harness):
    _centre_id, coach, (yusuf,) = await setup(harness, "Yusuf")
    await detect_and_alert(harness)
    await coach.press("1 ✅ Present")
    assert status(harness, "Yusuf") == AttendanceStatus.PRESENT
    why, _ = yusuf.find_button("Ill")
    await yusuf.press("Ill")
    message = harness.emulator.find_message(yusuf.id, why["message_id"])
    assert message["text"].startswith("Your coach has recorded you as present on Monday")
    assert "reply_markup" not in message
    assert status(harness, "Yusuf") == AttendanceStatus.PRESENT


async def test_an_unacknowledged_alert_comes_once_more(harness):
    _, coach, _ = await setup(harness, "Yusuf", alert_resend_minutes=45)
    await detect_and_alert(harness)
    (_first,) = coach.new_messages()
    for minutes in (44, 45, 90, 180):
        harness.clock.set(local(2026, 3, 2, 10, 46) + timedelta(minutes=minutes))
        await attendance_jobs.tick(harness.runtime)
        await harness.dispatch()
    (again,) = coach.new_messages()
    assert again["text"].startswith("Reminder: these aspirants did not check in today")
    assert "Yusuf" in again["text"]


async def test_a_note_from_the_alert(harness):
    _, coach, _ = await setup(harness, "Yusuf")
    await detect_and_alert(harness)
    (alert,) = coach.new_messages()
    (question,) = await coach.press("1 📝 Note")
    assert question["text"] == "Write your note about Yusuf (one message):"
    (saved,) = await coach.send("Phoned: he has the flu")
    assert saved["text"] == "Note saved."
    assert "— ✓ note added" in coach.harness.emulator.find_message(coach.id,
                                                                    alert["message_id"])["text"]
    with harness.db() as db:
        (note,) = db.scalars(select(AttendanceNote))
        assert note.text == "Phoned: he has the flu" and note.day == MONDAY


async def test_a_tampered_button_from_another_coach_is_refused(harness):
    _, coach, _ = await setup(harness, "Yusuf")
    other_phone = harness.phone("Nils", "en")
    with harness.db() as db:
        from bot.models import JobCentre

        centre = db.scalar(select(JobCentre))
        factories.staff(db, harness.clock.now(), Role.COACH, centre, name="Nils",
                        language="en", telegram_user_id=other_phone.id)
    await detect_and_alert(harness)
    (alert,) = coach.new_messages()
    item_data = coach.find_button("1 ✔️ Valid", message=alert)[1]["callback_data"]
    (own,) = await other_phone.send("/caseload")
    assert own["text"] == "You have no aspirants in your caseload."
    await other_phone.press_data(own["message_id"], item_data)
    answer = harness.emulator.callback_answers[-1]
    assert answer["show_alert"] and "not in your caseload" in answer["text"]
    assert status(harness, "Yusuf") == AttendanceStatus.UNEXCUSED


# --- the caseload ---------------------------------------------------------------------------
async def test_caseload_pages_detail_marking_and_statement(harness):
    names = [f"Aspirant{n:02d}" for n in range(10)]
    _centre_id, coach, _phones = await setup(harness, *names)
    harness.clock.set(local(2026, 3, 2, 9, 0))
    (page,) = await coach.send("/caseload")
    assert page["text"].startswith("Your aspirants (10), overdue plan deadlines first: "
                                   "page 1 of 2")
    assert "⏳ not checked in yet" in page["text"]
    await coach.press("Next ›")
    assert "page 2 of 2" in coach.last_text and "Aspirant09" in coach.last_text
    await coach.press("10. Aspirant09")
    assert coach.last_text.startswith("\u2068Aspirant09\u2069 — Jobbtorg Kista")
    assert "Daily check-in: required" in coach.last_text
    await coach.press("✅ Present")
    assert "Today: ✅ checked in 09:00" in coach.last_text
    assert status(harness, "Aspirant09") == AttendanceStatus.PRESENT
    await coach.press("Daily check-in: switch off")
    assert "Daily check-in: not required" in coach.last_text

    harness.clock.set(local(2026, 3, 3, 12, 0))
    await coach.press("📄 Attendance statement")
    messages = await coach.press("Last 30 days")
    text, document = messages
    assert text["text"].splitlines()[0] == "Attendance statement: Aspirant09, Jobbtorg Kista"
    assert "Present: 1" in text["text"]
    name, content, _mime = harness.emulator.files[document["document"]["file_id"]]
    assert name.endswith(".csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Aspirant", "Job centre", "Date"]
    assert rows[1][2:5] == ["2026-03-02", "Monday", "present"]


async def test_marking_another_day_by_hand(harness):
    _centre_id, coach, (_yusuf,) = await setup(harness, "Yusuf")
    harness.clock.set(local(2026, 3, 4, 12, 0))
    await coach.send("/caseload")
    await coach.press("1. Yusuf")
    await coach.press("📅 Another day")
    assert coach.last_text == "Which day do you want to record?"
    await coach.press(data="cl:q:1:20260302")
    await coach.press("❌ Not valid")
    assert status(harness, "Yusuf") == AttendanceStatus.UNEXCUSED
    with harness.db() as db:
        from bot.models import AuditEntry

        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "attendance.mark"))
        assert entry.details["day"] == "2026-03-02"


async def test_only_the_reasons_the_centre_offers_are_shown(harness):
    _, _coach, (amina,) = await setup(harness, "Amina", absence_reasons="ill")
    await amina.send("/absence")
    assert amina.buttons() == ["Ill", "Other reason", "Cancel"]  # "other" always
    await detect_and_alert(harness, day=3)
    why, _ = amina.find_button("Ill")
    assert amina.buttons(why) == ["Ill", "Other reason"]
    # A reason the centre does not offer, pressed from a forged button, is refused.
    await amina.press_data(why["message_id"], why["reply_markup"]["inline_keyboard"][0][0][
        "callback_data"].replace(":i", ":j"))
    assert status(harness, "Amina", date(2026, 3, 3)) == AttendanceStatus.UNEXCUSED
