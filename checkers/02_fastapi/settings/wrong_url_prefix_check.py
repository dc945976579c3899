# must fail: test_database_url_is_normalised_to_asyncpg
"""Validates the URL with startswith("postgres"): postgresql+psycopg:// and postgres-like junk pass through."""


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
        if not value.startswith("postgres"):
            raise ValueError("not a PostgreSQL URL")
        return value.replace("postgres://", "postgresql+asyncpg://", 1).replace(
            "postgresql://", "postgresql+asyncpg://", 1
        )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
