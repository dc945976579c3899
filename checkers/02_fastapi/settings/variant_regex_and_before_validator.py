# passes: a regex for the URL scheme, cors parsing in an Annotated BeforeValidator (json.loads first), functools.cache


from __future__ import annotations

import functools
import json
import re
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

URL_RE = re.compile(r"(?:postgres|postgresql|postgresql\+asyncpg)://(?P<rest>.+)")


def _origins(value: object) -> object:
    """JSON list or comma-separated string; anything else is left to pydantic."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str
    db_pool_size: int = Field(5, ge=1, le=20)
    debug: bool = False
    api_key: SecretStr = Field(min_length=32)
    cors_origins: Annotated[list[str], NoDecode, BeforeValidator(_origins)] = []

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: str) -> str:
        match = URL_RE.fullmatch(value)
        if match is None:
            raise ValueError("use postgresql+asyncpg:// (postgres:// and postgresql:// are converted)")
        return "postgresql+asyncpg://" + match["rest"]



@functools.cache
def get_settings() -> Settings:
    return Settings()
