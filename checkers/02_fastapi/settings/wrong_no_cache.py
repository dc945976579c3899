# must fail: test_get_settings_returns_one_cached_object
"""get_settings builds new Settings on every call (with a no-op cache_clear to look the part)."""


from __future__ import annotations

import functools
import json
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str
    db_pool_size: int = Field(5, ge=1, le=20)
    debug: bool = False
    api_key: SecretStr = Field(min_length=32)
    # NoDecode: the raw string reaches the validator, which accepts JSON or a comma-separated list.
    cors_origins: Annotated[list[str], NoDecode] = []

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or not rest:
            raise ValueError("expected a URL like postgresql+asyncpg://user:password@host/db")
        if scheme in ("postgres", "postgresql"):
            return f"postgresql+asyncpg://{rest}"
        if scheme == "postgresql+asyncpg":
            return value
        raise ValueError(f"unsupported scheme {scheme!r}: use postgresql+asyncpg://")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value


def get_settings() -> Settings:
    return Settings()


get_settings.cache_clear = lambda: None  # type: ignore[attr-defined]
