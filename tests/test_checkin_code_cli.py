"""``jobbot checkin-code``: the current code and link, and the venue page with its QR code."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.cli import main
from bot.cli_attendance import code_page_app
from bot.clock import SystemClock
from bot.db import make_engine, make_session_factory, unit_of_work
from bot.services.attendance import checkin_codes
from bot.services.attendance import policy as attendance_policy
from bot.services.attendance.checkin_codes import CodeCheck
from bot.services.centres import centres
from tests import factories

# No JOBBOT_ setting of the machine's, in a directory of the test's own (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("clean_env")


def test_the_command_prints_a_valid_code_and_its_link(monkeypatch, capsys, sqlite_url):
    monkeypatch.setenv("JOBBOT_DATABASE_URL", sqlite_url)
    assert main(["centre", "add", "Jobbtorg Kista"]) == 0
    capsys.readouterr()
    assert main(["checkin-code", "--centre", "Jobbtorg Kista",
                 "--bot-username", "@jobbtorg_bot"]) == 0
    match = re.fullmatch(r"(\d{6})  \(changes in (\d+) s\)  (\S+)\n", capsys.readouterr().out)
    assert match is not None
    code, left, link = match.groups()
    assert 1 <= int(left) <= 60
    sessions = make_session_factory(make_engine(sqlite_url))
    with unit_of_work(sessions) as db:
        centre = centres.by_name(db, "Jobbtorg Kista")
        policy = attendance_policy.policy_for(db, SystemClock().now(), centre.id)
        assert checkin_codes.check(policy, code, SystemClock().now()) == CodeCheck.VALID
        assert link == checkin_codes.deep_link("jobbtorg_bot", centre.id, code)


def test_an_unknown_centre_is_one_line(monkeypatch, capsys, sqlite_url):
    monkeypatch.setenv("JOBBOT_DATABASE_URL", sqlite_url)
    assert main(["checkin-code", "--centre", "Nowhere", "--bot-username", "b"]) == 1
    assert "unknown job centre 'Nowhere'" in capsys.readouterr().err


async def test_the_venue_page_shows_the_current_code_and_qr(sqlite_url, clock):
    sessions = make_session_factory(make_engine(sqlite_url))
    with unit_of_work(sessions) as db:
        centre_id = factories.centre(db, clock.now()).id
    app = code_page_app(sessions, centre_id, clock, "jobbtorg_bot")
    async with TestClient(TestServer(app)) as client:
        page = await (await client.get("/")).text()
        assert "code.json" in page and 'lang="ar" dir="rtl"' in page
        first = await (await client.get("/code.json")).json()
        with unit_of_work(sessions) as db:
            policy = attendance_policy.policy_for(db, clock.now(), centre_id)
            assert first["code"] == checkin_codes.current_code(policy, clock.now())
        assert first["link"] == checkin_codes.deep_link("jobbtorg_bot", centre_id,
                                                        first["code"])
        clock.advance(timedelta(seconds=first["seconds_left"]))
        second = await (await client.get("/code.json")).json()
        assert second["code"] != first["code"] and second["seconds_left"] == 60
        qr = await client.get("/qr.svg")
        assert qr.content_type == "image/svg+xml" and b"<svg" in await qr.read()
