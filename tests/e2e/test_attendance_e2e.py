"""The real bot, as a process, on a Tuesday morning: one aspirant checks in, one does not.

The bot runs on a test clock (tests/e2e/bot_with_test_clock.py) so the check-in
window is reached at once: 09:30 for the check-in, then, after a restart, 10:20,
past the window (08:30–10:00) and the grace period (15 min). The attendance job's
first run after the restart detects the absence; the coach must get exactly one
alert, about the aspirant who missed, and the aspirant who missed is asked why.
"""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import make_engine, make_session_factory, unit_of_work
from bot.emulator import BotApiEmulator
from bot.i18n import translator
from bot.models import (
    AttendanceRecord,
    AttendanceStatus,
    AuditEntry,
    CheckInMethod,
    CoachAlert,
    Enrolment,
    OutboxMessage,
    OutboxStatus,
    Role,
)
from bot.presentation import attendance_views as views
from bot.services.attendance import absences, checkin_codes, coach_alerts
from bot.services.attendance import policy as attendance_policy
from bot.services.attendance.sweep import WHY_TEMPLATE
from handlers.caseload import SAVED
from tests import factories
from tests.attendance_support import enrol
from tests.conftest import local
from tests.e2e.bot_with_test_clock import CLOCK_FILE_VARIABLE, FileClock, set_clock
from tests.e2e.conftest import _BOT_LOG_KEY, STOCKHOLM, BotProcess, Driver, launch_bot

pytestmark = pytest.mark.e2e

TUESDAY = date(2026, 3, 3)  # an ordinary working day
SEEDED_AT = local(2026, 3, 2, 12, 0)  # enrolled the day before
DURING_WINDOW = local(2026, 3, 3, 9, 30)
AFTER_GRACE = local(2026, 3, 3, 10, 20)  # the window closed at 10:00, the grace ended 10:15
COACH_LANGUAGE, AMINA_LANGUAGE, YUSUF_LANGUAGE = "sv", "ar", "so"
CENTRE = "Jobbtorg Kista"  # the factories' centre
# How long the bot must stay silent before "nothing more is coming" is believed; the
# wait ends as soon as it has, and is bounded by QUIET_TIMEOUT.
QUIET_FOR = 2.0
QUIET_TIMEOUT = 15.0


@dataclass
class Seeded:
    database_url: str
    centre_id: int
    coach_id: int
    coach_chat: int
    amina_chat: int
    yusuf_chat: int


@pytest.fixture
def seeded(sqlite_url: str, emulated_api: tuple[BotApiEmulator, str]) -> Seeded:
    """A job centre with a 08:30–10:00 window and 15 min grace, its coach, and two
    aspirants with a daily check-in, enrolled through invites as onboarding does."""
    emulator, _url = emulated_api
    coach_user = emulator.add_user("Karin", COACH_LANGUAGE)
    amina_user = emulator.add_user("Amina", AMINA_LANGUAGE)
    yusuf_user = emulator.add_user("Yusuf", YUSUF_LANGUAGE)
    now = SEEDED_AT
    engine = make_engine(sqlite_url)
    try:
        with unit_of_work(make_session_factory(engine)) as db:
            centre = factories.centre(db, now)
            coach = factories.staff(db, now, Role.COACH, centre, name="Karin",
                                    language=COACH_LANGUAGE, telegram_user_id=coach_user["id"])
            # The coach's alert goes out with the question to the aspirant (an admin may
            # set no wait): the restarted process's first run shows both.
            attendance_policy.update(db, now, centre, actor=None, weekdays="12345",
                                     window_start=clock_time(8, 30), window_end=clock_time(10, 0),
                                     grace_minutes=15, alert_delay_minutes=0)
            for user, language in ((amina_user, AMINA_LANGUAGE), (yusuf_user, YUSUF_LANGUAGE)):
                enrol(db, now, centre, coach, user["first_name"], required=True,
                      telegram_user_id=user["id"], language=language)
            seeded = Seeded(sqlite_url, centre.id, coach.id, coach_user["id"],
                            amina_user["id"], yusuf_user["id"])
    finally:
        engine.dispose()
    return seeded


@pytest.fixture
async def start_bot_at(request: pytest.FixtureRequest, tmp_path: Path,
                       emulated_api: tuple[BotApiEmulator, str], seeded: Seeded
                       ) -> AsyncIterator[Callable[[datetime], Awaitable[tuple[Driver, FileClock]]]]:
    """Start the real bot as a process on the test clock, set to ``moment``."""
    emulator, api_url = emulated_api
    clock_file = tmp_path / "clock.txt"
    # Both runs write here, so a failure shows the whole story.
    log = tmp_path / "bot-output.log"
    request.node.stash[_BOT_LOG_KEY] = log
    started: list[BotProcess] = []

    async def start(moment: datetime) -> tuple[Driver, FileClock]:
        assert not any(bot.running for bot in started), "stop the running bot first"
        set_clock(clock_file, moment)
        driver = await launch_bot(emulator, api_url, seeded.database_url, cwd=tmp_path,
                                  log=log, module="tests.e2e.bot_with_test_clock", args=(),
                                  extra_env={CLOCK_FILE_VARIABLE: str(clock_file)})
        started.append(driver.bot)
        return driver, FileClock(clock_file)

    yield start
    for bot in started:
        if bot.running:
            bot.process.kill()
            await bot.process.wait()


# --- reading the chats and the database ------------------------------------------------
@contextmanager
def _db(seeded: Seeded) -> Iterator[Session]:
    """A unit of work on the bot's database (the test reads what the bot committed)."""
    engine = make_engine(seeded.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as db:
            yield db
    finally:
        engine.dispose()


def _buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [(button["text"], button["callback_data"]) for row in
            message.get("reply_markup", {}).get("inline_keyboard", []) for button in row]


def _alerts(driver: Driver, seeded: Seeded) -> list[dict[str, Any]]:
    """The coach's attendance alerts for the Tuesday, first or re-sent, as shown now."""
    swedish = translator(COACH_LANGUAGE)
    headings = (
        swedish._("Not checked in today ({date}) at {centre}:", date=TUESDAY,
                  centre=CENTRE),
        swedish._("Reminder: these aspirants did not check in today ({date}) at {centre}, "
                  "and nothing has been recorded yet:", date=TUESDAY, centre=CENTRE),
    )
    return [m for m in driver.bot_messages(seeded.coach_chat)
            if m.get("text", "").startswith(headings)]


def _code_now(seeded: Seeded, now: datetime) -> str:
    with _db(seeded) as db:
        policy = attendance_policy.policy_for(db, now, seeded.centre_id)
        return checkin_codes.current_code(policy, now)


def _record(seeded: Seeded, chat: int) -> AttendanceRecord | None:
    """The aspirant's attendance record for the Tuesday (detached, read-only)."""
    with _db(seeded) as db:
        record = db.scalar(select(AttendanceRecord)
                           .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
                           .where(Enrolment.aspirant.has(telegram_user_id=chat),
                                  AttendanceRecord.day == TUESDAY))
        if record is not None:
            db.expunge(record)
        return record


def _nothing_due(seeded: Seeded, now: datetime) -> bool:
    """The outbox holds nothing the dispatcher should be sending now."""
    with _db(seeded) as db:
        waiting = db.scalar(select(OutboxMessage.id).where(
            OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            OutboxMessage.due_at <= now).limit(1))
        return waiting is None


def _queued_alerts(seeded: Seeded) -> list[OutboxStatus]:
    """The status of every coach alert put in the outbox."""
    with _db(seeded) as db:
        return list(db.scalars(select(OutboxMessage.status).where(
            OutboxMessage.kind == coach_alerts.KIND).order_by(OutboxMessage.id)))


async def _quiet(driver: Driver) -> None:
    """Wait until the bot has sent nothing for QUIET_FOR seconds (bounded): it ends as soon
    as the bot is idle, and fails if it never is."""
    emulator = driver.emulator
    deadline = time.monotonic() + QUIET_TIMEOUT
    seen = len(emulator.calls)
    quiet_since = time.monotonic()
    while True:
        now = time.monotonic()
        if any(call.method != "getUpdates" for call in emulator.calls[seen:]):
            quiet_since = now
        seen = len(emulator.calls)
        if now - quiet_since >= QUIET_FOR:
            return
        if now >= deadline:
            raise AssertionError(f"the bot kept sending for {QUIET_TIMEOUT:.0f} s:\n"
                                 f"{driver.recent()}")
        await emulator.wait_for_change(min(QUIET_FOR - (now - quiet_since), deadline - now))


def _alert_now(seeded: Seeded) -> tuple[dict[str, Any], str, list[tuple[str, str]] | None]:
    """The coach's alert as the database has it now: its view, and its text and buttons as
    the coach should see them."""
    with _db(seeded) as db:
        (alert,) = db.scalars(select(CoachAlert).where(CoachAlert.coach_id == seeded.coach_id))
        view = coach_alerts.view(db, alert)
        acknowledged = alert.acknowledged_at is not None
    t = translator(COACH_LANGUAGE)
    markup = views.alert_keyboard(t, view, acknowledged=acknowledged)
    buttons = ([(b.text, b.callback_data) for row in markup.inline_keyboard for b in row]
               if markup else None)
    return view, views.alert_text(t, view), buttons


# --- the test ----------------------------------------------------------------------------
async def test_one_checks_in_one_misses_and_the_coach_gets_exactly_one_alert(
        start_bot_at, seeded: Seeded) -> None:
    started = time.monotonic()
    amina, yusuf, coach = seeded.amina_chat, seeded.yusuf_chat, seeded.coach_chat
    arabic, somali = translator(AMINA_LANGUAGE), translator(YUSUF_LANGUAGE)
    swedish = translator(COACH_LANGUAGE)

    # 09:30: Amina scans the QR code at the venue; Yusuf does nothing.
    driver, clock = await start_bot_at(DURING_WINDOW)
    link = checkin_codes.start_param(seeded.centre_id, _code_now(seeded, clock.now()))
    driver.emulator.user_sends_text(amina, f"/start {link}")
    checked_in = await driver.wait_for("Amina's check-in in the database", lambda: (
        (r := _record(seeded, amina)) is not None and r.status == AttendanceStatus.PRESENT
        and r))
    assert checked_in.method == CheckInMethod.CODE and checked_in.recorded_by_id is None
    assert checked_in.recorded_at.astimezone(STOCKHOLM).date() == TUESDAY
    welcome = "✅ " + arabic._("You are checked in for today, {time}. Have a good day!",
                              time=arabic.time(checked_in.recorded_at))
    await driver.wait_for("Amina's check-in answer",
                          lambda: welcome in [m.get("text") for m in driver.bot_messages(amina)])
    assert _record(seeded, yusuf) is None  # he still has time

    # What is due at 09:30 (the join notices, the coach's morning digest from the
    # attendance job's first run) goes out before the restart, so that what comes
    # after it is about the absence alone.
    digest = swedish._("Good morning! Your aspirants at {centre} today, {date}:",
                       centre=CENTRE, date=TUESDAY)
    await driver.wait_for("the coach's morning digest", lambda: any(
        m.get("text", "").startswith(digest) for m in driver.bot_messages(coach)))
    await driver.wait_for("the outbox to be sent", lambda: _nothing_due(seeded, clock.now()))
    await _quiet(driver)
    assert _alerts(driver, seeded) == []
    assert await driver.bot.stop(signal.SIGTERM) == 0, driver.bot.output()
    first_run = time.monotonic() - started

    # 10:20, after the window and its grace: a new process on the same database. The
    # attendance job's first run (5 s after the start) detects the absence.
    before = {chat: len(driver.bot_messages(chat)) for chat in (coach, amina, yusuf)}

    def new(chat: int) -> list[dict[str, Any]]:
        return driver.bot_messages(chat)[before[chat]:]

    driver, clock = await start_bot_at(AFTER_GRACE)
    restarted = time.monotonic()
    await driver.wait_for("the coach's alert", lambda: _alerts(driver, seeded))
    why, _ = await driver.wait_for("the question to Yusuf", lambda: driver.message_with_button(
        yusuf, lambda data: data.startswith("aw:")))
    detected = time.monotonic() - restarted
    # Nothing is left to send and the bot has gone quiet: a second alert would be here.
    await driver.wait_for("the outbox to be sent", lambda: _nothing_due(seeded, clock.now()))
    await _quiet(driver)

    # The coach: exactly one new message, the alert, naming Yusuf and not Amina, with
    # Yusuf's buttons (excuse / present / contacted / note) and "seen".
    assert len(new(coach)) == 1, driver.recent()
    (alert,) = new(coach)
    assert _alerts(driver, seeded) == [alert]
    # ... and no other alert waits in the outbox (the re-send is for an alert not acted on
    # within the hour, on a later run of the attendance job).
    assert _queued_alerts(seeded) == [OutboxStatus.SENT]
    view, text, buttons = _alert_now(seeded)
    assert [entry["name"] for entry in view["items"]] == ["Yusuf"]
    assert alert["text"] == text
    assert alert["text"].splitlines()[:3] == [
        swedish._("Not checked in today ({date}) at {centre}:", date=TUESDAY, centre=CENTRE),
        "", "1. \u2068Yusuf\u2069"]
    assert "Amina" not in alert["text"]
    item = view["items"][0]["id"]
    assert _buttons(alert) == buttons == [
        *[(f"1 {icon} {swedish._(label)}", f"al:{item}:{code}")
          for code, icon, label in (*views.JUDGE_ACTIONS, *views.FOLLOW_ACTIONS)],
        ("👍 " + swedish._("Seen, I'll follow up"), f"ak:{view['alert']}")]

    # Yusuf: recorded absent and asked why, with a button per reason.
    absent = _record(seeded, yusuf)
    assert absent is not None and absent.status == AttendanceStatus.UNEXCUSED
    assert new(yusuf) == [why]
    assert why["text"] == somali._(WHY_TEMPLATE, date=TUESDAY)
    assert _buttons(why) == [(views.reason_label(somali, reason), f"aw:{absent.id}:{code}")
                             for code, reason in absences.REASON_CODES.items()]
    # Amina: still present, and told nothing.
    assert new(amina) == []
    assert getattr(_record(seeded, amina), "status", None) == AttendanceStatus.PRESENT

    # The coach marks Yusuf present from the alert: the same message changes, nothing new
    # is sent, and the change is audited.
    answers = len(driver.emulator.callback_answers)
    driver.press(coach, alert, {"callback_data": f"al:{item}:p"})

    def shown() -> str:
        message = driver.emulator.find_message(coach, alert["message_id"])
        return message["text"] if message else ""

    marked = await driver.wait_for("Yusuf marked present", lambda: (
        (r := _record(seeded, yusuf)) is not None and r.status == AttendanceStatus.PRESENT
        and shown() == _alert_now(seeded)[1] and r))
    assert marked.method == CheckInMethod.MANUAL and marked.recorded_by_id == seeded.coach_id
    edited = driver.emulator.find_message(coach, alert["message_id"])
    assert edited is not None
    assert edited["text"].splitlines()[2] == (
        "1. \u2068Yusuf\u2069 — ✓ " + swedish._(views.DONE["present"]))
    assert "reply_markup" not in edited  # nothing is left to act on
    assert [a.get("text") for a in driver.emulator.callback_answers[answers:]] == [
        swedish._(SAVED[AttendanceStatus.PRESENT])]
    with _db(seeded) as db:
        (entry,) = db.scalars(select(AuditEntry).where(AuditEntry.action == "attendance.mark"))
        assert (entry.actor_id, entry.subject_id) == (seeded.coach_id, marked.id)
        assert entry.details["status"] == "present" and entry.details["previous"] == "unexcused"
    # That press went through a new getUpdates round trip: still one alert, nothing else.
    assert _alerts(driver, seeded) == new(coach) == [edited]
    assert new(amina) == []

    assert await driver.bot.stop(signal.SIGTERM) == 0, driver.bot.output()
    assert "Traceback" not in driver.bot.output()
    assert all(call.status == 200 for call in driver.emulator.calls), [
        (c.method, c.status) for c in driver.emulator.calls if c.status != 200]
    # Shown with -s: where the time goes.
    print(f"first run {first_run:.1f} s, absence detected {detected:.1f} s after the restart, "
          f"whole test {time.monotonic() - started:.1f} s")
