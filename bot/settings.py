"""Settings from environment variables (prefix ``JOBBOT_``) and an optional ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import SettingsError

SUPPORTED_LANGUAGE_CODES = ("sv", "en", "ar", "so", "fa", "ti")
DEFAULT_DATABASE_URL = "sqlite:///jobbot.sqlite3"


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
            make_url(value)
        except ArgumentError as exc:
            raise ValueError("is not a database URL (e.g. sqlite:///jobbot.sqlite3)") from exc
        return value

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
