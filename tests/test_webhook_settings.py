"""Webhook settings: optional, but complete and valid when used, with one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.errors import SettingsError
from bot.settings import load_settings

# No JOBBOT_ setting of the machine's, in a directory of the test's own (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("clean_env")


def test_no_webhook_means_long_polling():
    settings = load_settings(env_file=None)
    assert settings.webhook_url is None and settings.webhook_secret is None
    assert (settings.webhook_listen, settings.webhook_port) == ("127.0.0.1", 8443)


def test_a_complete_webhook(monkeypatch):
    monkeypatch.setenv("JOBBOT_WEBHOOK_URL", "https://bot.example.org/telegram/hook")
    monkeypatch.setenv("JOBBOT_WEBHOOK_SECRET", "Abc_123-xyz")
    monkeypatch.setenv("JOBBOT_WEBHOOK_LISTEN", "0.0.0.0")
    monkeypatch.setenv("JOBBOT_WEBHOOK_PORT", "8080")
    settings = load_settings(env_file=None)
    assert settings.webhook_path == "/telegram/hook"
    assert (settings.webhook_listen, settings.webhook_port) == ("0.0.0.0", 8080)
    assert "Abc_123-xyz" not in repr(settings)


@pytest.mark.parametrize(("env", "expected"), [
    ({"JOBBOT_WEBHOOK_URL": "https://bot.example.org/hook"},
     "setting JOBBOT_WEBHOOK_SECRET: is required when JOBBOT_WEBHOOK_URL is set"),
    ({"JOBBOT_WEBHOOK_URL": "https://bot.example.org/hook", "JOBBOT_WEBHOOK_SECRET": "a b"},
     "setting JOBBOT_WEBHOOK_SECRET: must be 1-256 characters"),
    ({"JOBBOT_WEBHOOK_URL": "https://bot.example.org/hook", "JOBBOT_WEBHOOK_SECRET": "a" * 257},
     "setting JOBBOT_WEBHOOK_SECRET: must be 1-256 characters"),
    ({"JOBBOT_WEBHOOK_URL": "http://bot.example.org/hook", "JOBBOT_WEBHOOK_SECRET": "abc"},
     "setting JOBBOT_WEBHOOK_URL: must be an https:// URL"),
    ({"JOBBOT_WEBHOOK_URL": "https://bot.example.org:9000/hook", "JOBBOT_WEBHOOK_SECRET": "abc"},
     "setting JOBBOT_WEBHOOK_URL: must use port 443, 80, 88 or 8443"),
    ({"JOBBOT_WEBHOOK_URL": "https://", "JOBBOT_WEBHOOK_SECRET": "abc"},
     "setting JOBBOT_WEBHOOK_URL: must be an https:// URL"),
    ({"JOBBOT_WEBHOOK_PORT": "70000"}, "setting JOBBOT_WEBHOOK_PORT: Input should be less than"),
    ({"JOBBOT_WEBHOOK_PORT": "0"}, "setting JOBBOT_WEBHOOK_PORT: Input should be greater than"),
    ({"JOBBOT_WEBHOOK_PORT": "https"}, "setting JOBBOT_WEBHOOK_PORT: Input should be a valid"),
    ({"JOBBOT_WEBHOOK_LISTEN": "my host"}, "setting JOBBOT_WEBHOOK_LISTEN: must be an IP"),
])
def test_bad_webhook_setting_names_the_setting(monkeypatch, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings(env_file=None)
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)


def test_run_without_the_secret_is_one_line_and_non_zero(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBBOT_")}
    env.update({"JOBBOT_TELEGRAM_TOKEN": "123456:emulated",
                "JOBBOT_WEBHOOK_URL": "https://bot.example.org/hook"})
    result = subprocess.run([sys.executable, "-m", "bot.cli", "run"], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "jobbot: error: setting JOBBOT_WEBHOOK_SECRET: is required when JOBBOT_WEBHOOK_URL is "
        "set (1-256 characters: A-Z, a-z, 0-9, _ and -)"
    ]
