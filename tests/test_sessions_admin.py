"""Information sessions in chat (/sessions) and on the command line (jobbot session ...)."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from bot.cli import main
from bot.i18n import translator
from bot.models import Booking, BookingStatus, InfoSession, OutboxMessage, PlanMilestone
from bot.services.sessions import info_sessions
from tests.conftest import STOCKHOLM, local
from tests.reminder_support import cast, reminders, session_at

BOOKED = "You are booked for the information session:\n\n{summary}"


def booked_prefix(language):  # type: ignore[no-untyped-def]
    """The translated text before the session summary (with its isolation mark)."""
    return tr(language, BOOKED, summary="\0").split("\0")[0]


def tr(language, text, **params):  # type: ignore[no-untyped-def]
    return translator(language)._(text, **params)


def _sessions(harness):  # type: ignore[no-untyped-def]
    with harness.db() as db:
        return list(db.scalars(select(InfoSession).order_by(InfoSession.starts_at)))


def _booked(harness, c, when=None):  # type: ignore[no-untyped-def]
    """Amina and Erik booked on ``when`` (Thursday 10:00); Friday has places too."""
    now = harness.clock.now()
    when = when or local(2026, 3, 5, 10, 0)
    with harness.db() as db:
        session = session_at(db, now, c.world, when)
        friday = session_at(db, now, c.world, local(2026, 3, 6, 10, 0))
        for name in c.aspirants:
            info_sessions.book(db, now, db.get(type(c.world.admin), c.ids[name]), session.id)
        return session.id, friday.id


async def test_an_admin_creates_a_session_step_by_step(harness):
    c = cast(harness)
    admin = c.admin
    await admin.send("/sessions")
    assert admin.last_text == "There are no information sessions in the coming weeks."
    await admin.press("New information session")
    assert admin.last_text.startswith("When is the session?")
    await admin.send("next tuesday")
    assert admin.last_text == "Write the date and time like this: 2026-03-10 09:00-11:00"
    await admin.send("2026-03-01 09:00")
    assert admin.last_text == "The information session must start in the future."
    await admin.send("2026-03-29 02:30")
    assert admin.last_text.startswith("02:30 does not exist on that day")
    await admin.send("2026-03-10 09:00-11:30")
    assert admin.last_text == "Where is it? Send the address or the room."
    await admin.press("Use the job centre's address")
    await admin.send("0")
    assert admin.last_text == "The capacity must be between 1 and 500."
    await admin.press("15")
    assert admin.last_text == "In which language is the session held?"
    assert _sessions(harness) == []  # nothing is created before the admin confirms
    await admin.press("Svenska")
    assert admin.last_text.startswith("Create this information session?")
    assert "Places: 15" in admin.last_text and "Tuesday, 10 March 2026" in admin.last_text
    await admin.press("Create")
    assert admin.last_text.startswith("The information session has been created.")
    [session] = _sessions(harness)
    assert session.starts_at == datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    assert session.ends_at - session.starts_at == timedelta(hours=2, minutes=30)
    assert (session.capacity, session.language) == (15, "sv")
    assert session.place == "Kistagången 2, 164 40 Kista"


async def test_a_session_on_a_public_holiday_is_named_as_one_before_it_is_created(harness):
    c = cast(harness)
    admin = c.admin
    await admin.send("/sessions")
    await admin.press("New information session")
    await admin.send("2026-04-06 10:00-12:00")  # Easter Monday
    await admin.press("Use the job centre's address")
    await admin.press("15")
    await admin.press("English")
    assert admin.last_text.startswith("Create this information session?")
    assert ("⚠️ Monday, 6 April 2026 is not a working day (a public holiday): the job "
            "centre is usually closed then.") in admin.last_text
    # An ordinary Tuesday has no warning.
    await admin.send("/sessions")
    await admin.press("New information session")
    await admin.send("2026-04-07 10:00-12:00")
    await admin.press("Use the job centre's address")
    await admin.press("15")
    await admin.press("English")
    assert "⚠️" not in admin.last_text


async def test_moving_a_session_tells_each_booked_aspirant_in_their_language(harness):
    c = cast(harness, ("Amina", "ar"), ("Erik", "sv"))
    session_id, friday_id = _booked(harness, c)
    admin = c.admin
    await admin.send("/sessions")
    await admin.press(data=f"sa:v:{session_id}")
    assert "Booked: 2 of 20" in admin.last_text
    await admin.press("Change time")
    await admin.send("2026-03-05 13:00")
    assert admin.last_text == (
        "Move the session to Thursday, 5 March 2026, 13:00–15:00?\n\n"
        "2 booked aspirants will be told and offered other times.")
    await admin.press("Save")
    assert admin.last_text.startswith("Saved. The booked aspirants are being told.")
    with harness.db() as db:
        assert db.get(InfoSession, session_id).starts_at == local(2026, 3, 5, 13, 0)
        assert [r.due_at for r in reminders(db, kind="reminder.info_session")
                if r.recipient_id == c.ids["Erik"]] == [local(2026, 3, 4, 13, 0),
                                                        local(2026, 3, 5, 11, 0)]
    await harness.dispatch()
    for name, language in (("Amina", "ar"), ("Erik", "sv")):
        phone = c.aspirants[name]
        notice = phone.find_button(data=f"rb:{friday_id}")[0]
        t = translator(language)
        assert t.date(local(2026, 3, 5)) in notice["text"]
        assert t.time(local(2026, 3, 5, 13, 0)) in notice["text"]
    # Erik takes Friday instead; his coach is told.
    erik = c.aspirants["Erik"]
    await erik.press(data=f"rb:{friday_id}")
    assert erik.last_text.startswith(booked_prefix("sv"))
    await harness.dispatch()
    assert c.coach.last_text == translator("sv")._(
        "{name} has booked the information session on {date} at {time}.", name="Erik",
        date=date(2026, 3, 6), time=time(10, 0))


async def test_cancelling_a_session_offers_other_times(harness):
    c = cast(harness, ("Amina", "ar"))
    session_id, friday_id = _booked(harness, c)
    admin = c.admin
    await admin.send("/sessions")
    await admin.press(data=f"sa:v:{session_id}")
    await admin.press("Cancel session")
    assert "1 booked aspirant will be told" in admin.last_text
    await admin.press("Yes, cancel the session")
    assert "is cancelled" in admin.last_text
    await harness.dispatch()
    amina = c.aspirants["Amina"]
    await amina.press(data=f"rb:{friday_id}")
    assert amina.last_text.startswith(booked_prefix("ar"))
    with harness.db() as db:
        assert {r.event_key for r in reminders(db, kind="reminder.info_session")} == {
            f"bk:{db.scalar(select(Booking.id).where(Booking.info_session_id == friday_id))}"}
    # The coach hears how many of their aspirants were affected.
    cancelled = translator("sv")._(
        "The information session on {date} at {time} has been cancelled. Your "
        "aspirants who were booked on it: {count}. They have been offered other times.",
        date=date(2026, 3, 5), time=time(10, 0), count=1)
    assert cancelled in c.coach.texts


async def test_bad_changes_are_refused_and_change_nothing(harness):
    c = cast(harness, ("Amina", "ar"), ("Erik", "sv"))
    session_id, _ = _booked(harness, c)
    admin = c.admin
    await admin.send("/sessions")
    await admin.press(data=f"sa:v:{session_id}")
    await admin.press("Change places")
    await admin.send("1")
    assert admin.last_text == ("2 aspirants are already booked, so the capacity cannot be lower "
                               "than that.")
    await admin.press("Cancel")
    assert admin.last_text == "Nothing was changed."
    with harness.db() as db:
        assert db.get(InfoSession, session_id).capacity == 20


async def test_only_an_admin_of_the_centre_changes_sessions(harness):
    c = cast(harness, ("Amina", "ar"))
    session_id, _ = _booked(harness, c)
    coach = c.coach
    await coach.send("/sessions")
    assert "New information session" not in str(coach.bot_messages[-1])
    await coach.press(data=f"sa:v:{session_id}")
    assert "Change time" not in str(coach.bot_messages[-1])
    message_id = coach.bot_messages[-1]["message_id"]
    await coach.press_data(message_id, f"sa:x:{session_id}")  # a tampered button
    assert harness.emulator.callback_answers[-1]["text"] == tr(
        "sv", "Sorry, this is not available to you.")
    amina = c.aspirants["Amina"]
    await amina.send("/sessions")
    assert amina.last_text == tr("ar", "Sorry, this is not available to you.")
    with harness.db() as db:
        assert db.get(InfoSession, session_id).cancelled_at is None


async def test_recording_who_came_starts_the_plan_and_offers_a_new_time(harness):
    c = cast(harness, ("Amina", "ar"), ("Erik", "sv"))
    session_id, friday_id = _booked(harness, c, when=local(2026, 3, 3, 10, 0))
    harness.clock.set(local(2026, 3, 3, 10, 30))
    coach = c.coach
    await coach.send("/sessions")
    await coach.press(data=f"sa:v:{session_id}")
    await coach.press(translator("sv")._("Record attendance"))
    await coach.press("✅ Amina")
    await coach.press("✅ Amina")  # pressed twice: no error, nothing new
    await coach.press("❌ Erik")
    assert "✅ Amina" in coach.last_text and "❌ Erik" in coach.last_text
    with harness.db() as db:
        statuses = {b.aspirant_id: b.status for b in db.scalars(
            select(Booking).where(Booking.info_session_id == session_id))}
        assert statuses == {c.ids["Amina"]: BookingStatus.ATTENDED,
                            c.ids["Erik"]: BookingStatus.NO_SHOW}
        first, deepened = db.scalars(select(PlanMilestone).order_by(PlanMilestone.due_on))
        assert first.due_on.isoformat() == "2026-03-10"  # five working days later
        assert deepened.due_on.isoformat() == "2026-04-07"  # a month on, after Easter
    await harness.dispatch()
    erik = c.aspirants["Erik"]
    erik.find_button(data=f"rb:{friday_id}")  # offered a new time
    # A wrong entry can be corrected: Amina did not come after all.
    await coach.press("❌ Amina")
    with harness.db() as db:
        assert db.scalar(select(func.count(PlanMilestone.id)).where(
            PlanMilestone.cancelled_at.is_(None))) == 0


# --- the command line --------------------------------------------------------------------
def _cli_world(monkeypatch, capsys, sqlite_url):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JOBBOT_DATABASE_URL", sqlite_url)
    assert main(["centre", "add", "Jobbtorg Kista", "--address", "Kistagången 2"]) == 0
    capsys.readouterr()


def _future_day(days: int) -> str:
    return (datetime.now(STOCKHOLM) + timedelta(days=days)).date().isoformat()


def test_session_add_edit_list_and_cancel_on_the_command_line(monkeypatch, capsys, sqlite_url):
    _cli_world(monkeypatch, capsys, sqlite_url)
    day = _future_day(10)
    assert main(["session", "add", "--centre", "Jobbtorg Kista", "--start",
                 f"{day} 09:00-11:00", "--capacity", "12"]) == 0
    line = capsys.readouterr().out.strip()
    session_id = line.split("\t")[0]
    assert f"{day}" in line and "09:00-11:00" in line and "0/12" in line
    assert main(["session", "edit", session_id, "--start", f"{day} 13:00"]) == 0
    assert "13:00-15:00" in capsys.readouterr().out
    assert main(["session", "add", "--centre", "Nowhere", "--start", f"{day} 09:00"]) == 1
    assert "unknown job centre" in capsys.readouterr().err
    assert main(["session", "add", "--centre", "Jobbtorg Kista", "--start", "soon"]) == 1
    assert "Write the date and time like this" in capsys.readouterr().err
    assert main(["session", "list"]) == 0
    assert capsys.readouterr().out.count("\n") == 1
    assert main(["session", "cancel", session_id]) == 0
    assert "0 booked aspirant(s) told" in capsys.readouterr().out
    assert main(["session", "cancel", session_id]) == 1
    assert "already cancelled" in capsys.readouterr().err


def _schedule(path, rows):  # type: ignore[no-untyped-def]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["centre", "date", "start", "end", "place", "capacity", "language"])
        writer.writerows(rows)
    return path


def test_a_schedule_with_bad_rows_creates_nothing_and_lists_every_problem(
        monkeypatch, capsys, sqlite_url, tmp_path):
    _cli_world(monkeypatch, capsys, sqlite_url)
    good = [["Jobbtorg Kista", _future_day(n), "09:00", "11:00", "Rum 3", "20", "sv"]
            for n in (7, 8, 9)]
    bad = _schedule(tmp_path / "bad.csv", [
        *good,
        ["Jobbtorg Farsta", _future_day(10), "09:00", "", "", "", ""],
        ["Jobbtorg Kista", _future_day(11), "25:00", "", "", "", ""],
        ["Jobbtorg Kista", _future_day(12), "09:00", "", "", "many", ""],
        ["Jobbtorg Kista", _future_day(13), "09:00", "", "", "", "de"],
        good[0],
    ])
    assert main(["session", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    for line, problem in ((5, "unknown job centre 'Jobbtorg Farsta'"),
                          (6, "There is no such date or time"),
                          (7, "The capacity must be a whole number"),
                          (8, "Unknown language: de"),
                          (9, "same centre and start as line 2")):
        assert f"line {line}: {problem}" in err
    assert "5 problem(s), no session created" in err
    assert main(["session", "list"]) == 0
    assert capsys.readouterr().out == ""
    # The corrected file goes in whole; importing it again is refused as duplicates.
    fixed = _schedule(tmp_path / "good.csv", good)
    assert main(["session", "import", "--dry-run", str(fixed)]) == 0
    assert main(["session", "import", str(fixed)]) == 0
    assert "3 information session(s) created" in capsys.readouterr().err
    assert main(["session", "import", str(fixed)]) == 1
    assert "already starts then" in capsys.readouterr().err


def test_rules_on_the_command_line(monkeypatch, capsys, sqlite_url):
    _cli_world(monkeypatch, capsys, sqlite_url)
    # `centre add` installed the default rules with the first centre; asking again adds none.
    assert main(["rule", "defaults"]) == 0
    assert capsys.readouterr().out.strip().splitlines() == []
    from bot.db import make_engine, make_session_factory, unit_of_work
    from bot.models import ReminderRule

    with unit_of_work(make_session_factory(make_engine(sqlite_url))) as db:
        assert db.scalar(select(func.count(ReminderRule.id))) == 21
    assert main(["rule", "add", "--event", "info_session", "--audience", "coach",
                 "--offset", "+3h", "--text", "sv=Hur gick det för {name}?"]) == 0
    rule_id = capsys.readouterr().out.split("\t")[0]
    assert main(["rule", "edit", rule_id, "--offset", "tomorrow"]) == 1
    assert "Not an offset" in capsys.readouterr().err
    assert main(["rule", "edit", rule_id, "--text", "sv=Hej {place}"]) == 0
    assert main(["rule", "edit", rule_id, "--text", "sv=Hej {where}"]) == 1
    assert "unknown placeholder" in capsys.readouterr().err
    assert main(["rule", "disable", rule_id]) == 0
    assert "(disabled)" in capsys.readouterr().out
    assert main(["rule", "settings", "--centre", "Jobbtorg Kista", "--quiet", "21:00-07:30",
                 "--quiet-weekends", "yes", "--deadlines", "calendar"]) == 0
    assert capsys.readouterr().out.strip() == (
        "quiet hours 21:00-07:30, weekends quiet, deadlines in calendar days")


def test_the_outbox_is_untouched_by_listing(monkeypatch, capsys, sqlite_url):
    _cli_world(monkeypatch, capsys, sqlite_url)
    assert main(["rule", "list"]) == 0
    from bot.db import make_engine, make_session_factory, unit_of_work

    with unit_of_work(make_session_factory(make_engine(sqlite_url))) as db:
        assert db.scalar(select(func.count(OutboxMessage.id))) == 0
