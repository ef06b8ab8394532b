"""Settings and the command line: clear one-line errors, working commands."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from bot.cli import build_parser, main
from bot.db import make_engine, make_session_factory, unit_of_work
from bot.errors import SettingsError
from bot.models import Invite, Role
from bot.settings import load_settings

# No JOBBOT_ setting of the machine's, in a directory of the test's own (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("clean_env")


def test_defaults():
    settings = load_settings(env_file=None)
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_url == "sqlite:///jobbot.sqlite3"
    assert settings.timezone == "Europe/Stockholm"
    assert settings.default_language == "sv"
    assert settings.bot_base_url == "https://api.telegram.org/bot"


def test_env_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("JOBBOT_DEFAULT_LANGUAGE=ar\nJOBBOT_TELEGRAM_API_URL="
                                   "http://127.0.0.1:8081/\n")
    settings = load_settings()
    assert settings.default_language == "ar"
    assert settings.bot_base_url == "http://127.0.0.1:8081/bot"


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("JOBBOT_TIMEZONE", "Mars/Olympus", "setting JOBBOT_TIMEZONE: unknown time zone"),
    ("JOBBOT_DEFAULT_LANGUAGE", "de", "setting JOBBOT_DEFAULT_LANGUAGE: must be one of"),
    ("JOBBOT_TELEGRAM_API_URL", "api.telegram.org", "setting JOBBOT_TELEGRAM_API_URL: must start"),
    ("JOBBOT_DATABASE_URL", "not a url", "setting JOBBOT_DATABASE_URL: is not a database URL"),
    ("JOBBOT_INVITE_VALID_DAYS", "soon", "setting JOBBOT_INVITE_VALID_DAYS:"),
])
def test_bad_setting_names_the_setting(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings(env_file=None)
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("JOBBOT_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True,
                          text=True, env=full_env, timeout=60)


def test_bad_setting_is_one_line_and_non_zero():
    result = _run("db", "upgrade", env={"JOBBOT_TIMEZONE": "Nowhere/Land"})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "jobbot: error: setting JOBBOT_TIMEZONE: unknown time zone 'Nowhere/Land'"
    ]


def test_bad_command_is_one_line_and_non_zero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid choice: 'frobnicate'" in err[0]


def _subcommand_paths(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _subcommand_paths(sub, (*prefix, name))


def test_every_command_has_help(capsys):
    paths = list(_subcommand_paths(build_parser()))
    assert ("db", "upgrade") in paths and ("run",) in paths and ("admin", "invite") in paths
    for path in [(), *paths]:
        with pytest.raises(SystemExit) as exit_info:
            main([*path, "--help"])
        assert exit_info.value.code == 0, path
        assert "usage: jobbot" in capsys.readouterr().out


def test_run_without_token_explains_botfather(capsys):
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "@BotFather" in err and "jobbot sandbox" in err and len(err.strip().splitlines()) == 1


def test_run_refuses_an_unmigrated_database(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("JOBBOT_TELEGRAM_TOKEN", "1:x")
    monkeypatch.setenv("JOBBOT_DATABASE_URL", f"sqlite:///{tmp_path}/empty.sqlite3")
    assert main(["run"]) == 1
    assert "run 'jobbot db upgrade'" in capsys.readouterr().err


def test_db_upgrade_then_admin_invite_then_centre_and_invites(monkeypatch, capsys, tmp_path):
    url = f"sqlite:///{tmp_path}/jobbot.sqlite3"
    monkeypatch.setenv("JOBBOT_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0  # twice is harmless
    capsys.readouterr()

    assert main(["admin", "invite", "--bot-username", "@jobbtorg_bot"]) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://t.me/jobbtorg_bot?start=")
    code = link.split("start=")[1]
    assert 20 <= len(code) <= 64 and code.replace("-", "").replace("_", "").isalnum()

    assert main(["centre", "add", "Jobbtorg Kista", "--address", "Kistagången 2",
                 "--lat", "59.40", "--lon", "17.94"]) == 0
    # The first centre comes with the recommended reminder rules, once.
    assert "default reminder rules installed" in capsys.readouterr().out
    assert main(["centre", "add", "Jobbtorg Farsta"]) == 0
    assert "default reminder rules" not in capsys.readouterr().out
    assert main(["invite", "create", "--centre", "Jobbtorg Kista", "--attendance",
                 "--bot-username", "jobbtorg_bot", "--qr", str(tmp_path / "qr.png")]) == 0
    assert (tmp_path / "qr.png").read_bytes().startswith(b"\x89PNG")
    assert main(["invite", "create", "--centre", "Nowhere", "--bot-username", "b"]) == 1
    assert "unknown job centre 'Nowhere'" in capsys.readouterr().err

    sessions = make_session_factory(make_engine(url))
    with unit_of_work(sessions) as db:
        invites = list(db.scalars(select(Invite).order_by(Invite.id)))
        assert [i.role for i in invites] == [Role.ADMIN, Role.ASPIRANT]
        assert invites[0].code == code
        assert invites[1].attendance_required is True


def test_invite_import_writes_one_link_per_row_or_nothing(monkeypatch, capsys, tmp_path):
    url = f"sqlite:///{tmp_path}/jobbot.sqlite3"
    monkeypatch.setenv("JOBBOT_DATABASE_URL", url)
    monkeypatch.setenv("JOBBOT_BOT_USERNAME", "jobbtorg_bot")
    main(["db", "upgrade"])
    main(["centre", "add", "Jobbtorg Kista"])
    good = tmp_path / "good.csv"
    good.write_text("centre,reference,attendance\nJobbtorg Kista,A-1,yes\nJobbtorg Kista,A-2,no\n")
    out = tmp_path / "links.csv"
    assert main(["invite", "import", str(good), "--output", str(out)]) == 0
    rows = out.read_text().strip().splitlines()
    assert rows[0] == "reference,centre,link,expires_utc"
    assert [r.split(",")[0] for r in rows[1:]] == ["A-1", "A-2"]
    assert all("https://t.me/jobbtorg_bot?start=" in r for r in rows[1:])

    bad = tmp_path / "bad.csv"
    bad.write_text("centre,reference\nJobbtorg Kista,B-1\nJobbtorg Nowhere,B-2\n")
    capsys.readouterr()
    assert main(["invite", "import", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.csv:3" in err[0] and "no invite created" in err[0]
    sessions = make_session_factory(make_engine(url))
    with unit_of_work(sessions) as db:
        assert len(list(db.scalars(select(Invite)))) == 2


async def test_admin_invite_link_makes_an_admin(harness):
    from bot.services.people import invites, people

    with harness.db() as db:
        code = invites.create(db, harness.clock.now(), role=Role.ADMIN).code
    phone = harness.phone("Sara", "en")
    await phone.send(f"/start {code}")
    assert phone.texts[0] == "You are now registered as administrator for all job centres."
    assert "/invite" in phone.last_text
    with harness.db() as db:
        assert people.by_telegram_id(db, phone.id).has_role(Role.ADMIN)
    # An admin invites a coach in chat, and the QR code comes with the link.
    await phone.send("/invite")
    await phone.press("Coach")
    assert phone.last_text.startswith("There is no job centre")


async def test_coach_invites_an_aspirant_in_chat(harness):
    from tests import factories
    from tests.conftest import local

    now = harness.clock.now()
    coach = harness.phone("Karin", "en")
    with harness.db() as db:
        centre = factories.centre(db, now)
        factories.staff(db, now, Role.COACH, centre, language="en", telegram_user_id=coach.id)
        session_id = factories.session(db, now, centre, local(2026, 3, 4, 9, 30)).id
    await coach.send("/invite")
    assert coach.last_text == "Jobbtorg Kista: which information session should the aspirant " \
                              "come to?"
    await coach.press(data=f"iv:s:{session_id}")
    await coach.press("Yes")
    assert coach.texts[-2].startswith("Invite for a new aspirant ready.")
    photo = coach.bot_messages[-1]
    assert "photo" in photo and photo["caption"] == "Show this QR code, or send the link."
    link = coach.texts[-2].split("\n")[-1]
    code = link.split("start=")[1]
    with harness.db() as db:
        invite = db.scalar(select(Invite).where(Invite.code == code))
        assert invite.info_session_id == session_id and invite.attendance_required
        assert invite.coach_id is not None
    # The QR code holds the same link.
    file_id = photo["photo"][0]["file_id"]
    assert harness.emulator.files[file_id][1].startswith(b"\x89PNG")
    aspirant = harness.phone("Amina", "en")
    await aspirant.send(f"/start {code}")
    assert aspirant.last_text == "Welcome! Please choose your language."


def test_verbose_logging_never_shows_update_contents(monkeypatch, capsys):
    import logging

    assert main(["--verbose", "db", "upgrade"]) in (0, 1)
    for name in ("telegram.ext.Application", "telegram.ext._utils.webhookhandler",
                 "telegram.Bot", "telegram.ext.ExtBot"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
