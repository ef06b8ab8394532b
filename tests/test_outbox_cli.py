"""``jobbot outbox status`` and ``jobbot outbox why --person ID``, and ``jobbot run``
refusing a database it cannot write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.cli import main
from bot.db import make_engine, make_session_factory, unit_of_work
from bot.models import OutboxMessage, OutboxStatus, Person, Role
from bot.services.messaging import claims, outbox
from tests import factories

# No JOBBOT_ setting of the machine's, in a directory of the test's own (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def database(monkeypatch, tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/jobbot.sqlite3"
    monkeypatch.setenv("JOBBOT_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def _set(db, message: OutboxMessage, **values: object) -> None:  # type: ignore[no-untyped-def]
    db.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(**values))


def _queue_of_all_sorts(sessions) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A coach's outbox: late, in flight, failed, waiting to retry, sent, skipped."""
    now = datetime.now(UTC)
    with unit_of_work(sessions) as db:
        centre = factories.centre(db, now)
        amina = factories.staff(db, now, Role.COACH, centre, name="Amina Yusuf")
        erik = factories.staff(db, now, Role.COACH, centre, name="Erik")
        late = outbox.enqueue(db, now, amina, "Late", kind="reminder.info_session",
                              due_at=now - timedelta(minutes=5))
        planned = outbox.enqueue(db, now, amina, "Later", kind="reminder.first_plan",
                                 due_at=now + timedelta(days=2))
        sent = outbox.enqueue(db, now, amina, "Sent", kind="reminder.info_session",
                              due_at=now - timedelta(hours=20))
        skipped = outbox.enqueue(db, now, amina, "Skipped", kind="reminder.checkin",
                                 due_at=now - timedelta(hours=3))
        failed = outbox.enqueue(db, now, erik, "Blocked", kind="notice",
                                due_at=now - timedelta(minutes=30))
        retrying = outbox.enqueue(db, now, erik, "Retry", kind="notice",
                                  due_at=now + timedelta(seconds=40))
        _set(db, sent, status=OutboxStatus.SENT, sent_at=now - timedelta(hours=20), attempts=1)
        _set(db, skipped, status=OutboxStatus.SKIPPED, skip_reason="checked_in_or_absent")
        _set(db, failed, status=OutboxStatus.FAILED, last_error="403", attempts=1,
             last_attempt_at=now - timedelta(minutes=20))
        _set(db, retrying, last_error="HTTP 502", attempts=2,
             last_attempt_at=now - timedelta(seconds=10))
        assert late is not None and planned is not None
        ids = (amina.id, erik.id)
    with unit_of_work(sessions) as db:
        # One more, claimed by a sender at work right now.
        in_flight = outbox.enqueue(db, now, db.get(Person, ids[1]), "Now", kind="notice",
                                   due_at=now - timedelta(seconds=1))
        assert in_flight is not None
        _set(db, late, due_at=now + timedelta(hours=1))  # kept out of this claim
    with unit_of_work(sessions) as db:
        claimed = claims.claim(db, now=now, token="bot-1:42:a1b2c3/7", limit=10)
        assert [m.id for m in claimed.messages] == [in_flight.id]
        _set(db, late, due_at=now - timedelta(minutes=5))
    return ids


def test_status_shows_the_queue_lateness_senders_and_failures(database, capsys):
    _queue_of_all_sorts(database)
    assert main(["outbox", "status"]) == 0
    out = capsys.readouterr().out
    assert "pending    reminder.info_session" in out
    assert "sending    notice" in out
    assert "Due now: 1; the oldest is 5 min" in out
    assert "Being sent: 1 by bot-1:42:a1b2c3 (its lease holds 1" in out
    assert "Failed in the last hour:\n       1  Telegram: the person blocked the bot (403)" in out
    assert "Waiting to be tried again:\n       1  Telegram did not answer (HTTP 502)" in out
    assert "sent       reminder.info_session" in out and "skipped    reminder.checkin" in out
    assert "Amina" not in out and "Erik" not in out


def test_why_tells_a_coach_what_became_of_each_message(database, capsys):
    amina, erik = _queue_of_all_sorts(database)
    assert main(["outbox", "why", "--person", str(amina)]) == 0
    out = capsys.readouterr().out
    assert f"Person {amina} (coach, language sv): reachable through the bot" in out
    lines = [line for line in out.splitlines() if line.startswith("  #")]
    assert len(lines) == 4
    assert "reminder.info_session" in lines[0] and "sent " in lines[0]
    assert "not sent: they had already checked in, or an absence was recorded" in lines[1]
    assert "due 5 min" in lines[2] and "waiting to be sent" in lines[2]
    assert "reminder.first_plan" in lines[3] and "planned, due in 1 d 23 h" in lines[3]
    assert "Amina" not in out
    assert main(["outbox", "why", "--person", str(erik)]) == 0
    out = capsys.readouterr().out
    assert "failed: Telegram: the person blocked the bot (403) (1 attempt)" in out
    assert "last try: Telegram did not answer (HTTP 502) (2 attempts)" in out
    assert "being sent now" in out


def test_why_for_an_unknown_person_is_one_line(database, capsys):
    assert main(["outbox", "why", "--person", "999"]) == 1
    assert capsys.readouterr().err.strip() == "jobbot: error: no person with id 999"
    with pytest.raises(SystemExit) as usage:
        main(["outbox", "why", "--person", "-3"])
    assert usage.value.code == 2


def test_run_on_a_read_only_database_says_so_in_one_line(database, monkeypatch, tmp_path,
                                                          capsys):
    monkeypatch.setenv("JOBBOT_TELEGRAM_TOKEN", "1:x")
    monkeypatch.setenv("JOBBOT_DATABASE_URL",
                       f"sqlite:///file:{tmp_path}/jobbot.sqlite3?mode=ro&uri=true")
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("jobbot: error: the disk is read-only: cannot write the database at ")
    assert "make it writable" in err
