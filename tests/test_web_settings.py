"""The console's settings: where it listens, and the public address its links and cookies
follow; a bad value is one line naming the setting."""

from __future__ import annotations

import pytest

from bot.errors import SettingsError
from bot.settings import load_settings

# No JOBBOT_ setting of the machine's, in a directory of the test's own (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("clean_env")


def test_by_default_the_console_is_on_this_machine():
    settings = load_settings(env_file=None)
    assert (settings.web_listen, settings.web_port) == ("127.0.0.1", 8081)
    assert settings.console_url == "http://127.0.0.1:8081"
    assert not settings.console_is_https


def test_listening_everywhere_links_to_this_machine(monkeypatch):
    monkeypatch.setenv("JOBBOT_WEB_LISTEN", "0.0.0.0")
    monkeypatch.setenv("JOBBOT_WEB_PORT", "9000")
    assert load_settings(env_file=None).console_url == "http://127.0.0.1:9000"


def test_a_public_https_address_makes_links_and_cookies_follow_it(monkeypatch):
    monkeypatch.setenv("JOBBOT_WEB_PUBLIC_URL", "https://jobbot.example.org/")
    settings = load_settings(env_file=None)
    assert settings.console_url == "https://jobbot.example.org"
    assert settings.console_is_https


@pytest.mark.parametrize(("env", "expected"), [
    ({"JOBBOT_WEB_PUBLIC_URL": "jobbot.example.org"},
     "setting JOBBOT_WEB_PUBLIC_URL: must be an http:// or https:// URL"),
    ({"JOBBOT_WEB_PUBLIC_URL": "https://jobbot.example.org/console"},
     "setting JOBBOT_WEB_PUBLIC_URL: must be the address of the console itself, without a path"),
    ({"JOBBOT_WEB_PUBLIC_URL": "https://jobbot.example.org:99999"},
     "setting JOBBOT_WEB_PUBLIC_URL: has a port that is not a number from 1 to 65535"),
    ({"JOBBOT_WEB_PORT": "0"}, "setting JOBBOT_WEB_PORT: Input should be greater than"),
    ({"JOBBOT_WEB_LISTEN": "my host"}, "setting JOBBOT_WEB_LISTEN: must be an IP"),
])
def test_bad_console_settings_name_the_setting(monkeypatch, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings(env_file=None)
    assert str(error.value).startswith(expected)
