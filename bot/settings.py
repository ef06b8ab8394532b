"""Settings from environment variables (prefix ``JOBBOT_``) and an optional ``.env`` file."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import SettingsError

SUPPORTED_LANGUAGE_CODES = ("sv", "en", "ar", "so", "fa", "ti")
DEFAULT_DATABASE_URL = "sqlite:///jobbot.sqlite3"
# Telegram's rule for setWebhook's secret_token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_PORTS = (443, 80, 88, 8443)
POSTGRES_WITHOUT_DRIVER = ("postgres", "postgresql")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="JOBBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    telegram_token: str | None = Field(default=None, description="Bot token from @BotFather")
    telegram_api_url: str = Field(
        default="https://api.telegram.org",
        description="Bot API base URL; point it at a local Bot API server or the emulator",
    )
    database_url: str = Field(default=DEFAULT_DATABASE_URL)
    timezone: str = Field(default="Europe/Stockholm")
    default_language: str = Field(default="sv")
    invite_valid_days: int = Field(default=14, ge=1, le=365)
    bot_username: str | None = Field(
        default=None, description="Bot username, used for invite links when the API is not asked"
    )
    # Webhook mode (several instances behind a load balancer); no URL means long polling.
    # The URL comes before the secret: the secret's check reads it.
    webhook_url: str | None = Field(default=None, description="Public HTTPS URL Telegram posts to")
    webhook_listen: str = Field(default="127.0.0.1", description="Address the webhook listens on")
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: str | None = Field(default=None, repr=False, validate_default=True,
                                       description="Telegram sends it back with every update")
    # The staff web console, served by ``jobbot run`` beside the bot (bot/web).
    web_listen: str = Field(default="127.0.0.1", description="Address the console listens on")
    web_port: int = Field(default=8081, ge=1, le=65535)
    web_public_url: str | None = Field(
        default=None, description="Address staff open the console at (sign-in links); "
                                  "https:// makes its cookies Secure")

    @field_validator("telegram_api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in SUPPORTED_LANGUAGE_CODES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGE_CODES)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("is not a database URL (e.g. sqlite:///jobbot.sqlite3)") from exc
        if url.drivername in POSTGRES_WITHOUT_DRIVER:
            # Heroku-style postgres:// and a bare postgresql:// name no driver, and
            # SQLAlchemy's default one (psycopg2) is not installed: use psycopg (3).
            return url.set(drivername="postgresql+psycopg").render_as_string(
                hide_password=False)
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("must be an https:// URL (Telegram posts updates only over HTTPS)")
        try:
            port = parts.port or 443
        except ValueError:
            port = 0
        if port not in WEBHOOK_PORTS:
            raise ValueError("must use port 443, 80, 88 or 8443 (the ones Telegram posts to)")
        return value

    @field_validator("webhook_listen", "web_listen")
    @classmethod
    def _webhook_listen(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"[A-Za-z0-9.:-]+", value):
            raise ValueError("must be an IP address or host name, e.g. 127.0.0.1 or 0.0.0.0")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = value or None
        if value is None:
            if info.data.get("webhook_url"):
                raise ValueError("is required when JOBBOT_WEBHOOK_URL is set "
                                 "(1-256 characters: A-Z, a-z, 0-9, _ and -)")
            return None
        if not WEBHOOK_SECRET.fullmatch(value):
            raise ValueError("must be 1-256 characters: A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("web_public_url")
    @classmethod
    def _web_public_url(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL, e.g. https://console.example.org")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be the address of the console itself, without a path "
                             "(the console is served at the root of its host)")
        try:
            parts.port  # noqa: B018  (a bad port raises here)
        except ValueError:
            raise ValueError("has a port that is not a number from 1 to 65535") from None
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def console_url(self) -> str:
        """Where staff open the console: the public URL, else this machine's address."""
        if self.web_public_url:
            return self.web_public_url
        host = self.web_listen
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.web_port}"

    @property
    def console_is_https(self) -> bool:
        """Cookies are Secure when staff reach the console over HTTPS (behind the proxy)."""
        return self.console_url.startswith("https://")

    @property
    def webhook_path(self) -> str:
        """The path the webhook listens on: the public URL's, as a load balancer passes it on."""
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def bot_base_url(self) -> str:
        return f"{self.telegram_api_url}/bot"

    @property
    def bot_file_base_url(self) -> str:
        return f"{self.telegram_api_url}/file/bot"


def load_settings(env_file: str | Path | None = ".env", **overrides: object) -> Settings:
    """Read the settings, turning any validation problem into one line naming the setting."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        message = error["msg"].removeprefix("Value error, ")
        raise SettingsError(f"setting JOBBOT_{field.upper()}: {message}") from None
