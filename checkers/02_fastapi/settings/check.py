"""Checks for fastapi/settings: `Settings` (pydantic-settings) and `get_settings()`.

Each scenario runs with an environment and a working directory of its own: every `APP_*` variable is removed,
the scenario's are set, and the process moves into a fresh temporary directory holding the scenario's `.env`
(or none); all of it is restored afterwards, whatever happens. The grader's own `DATABASE_URL` stays set (and
is replaced by a MySQL URL in one scenario): without the prefix, it must not be read.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic

from course.checking import expect, fail

REQUIRES = {"Settings": "class Settings(BaseSettings)", "get_settings": "def get_settings()"}
LESSON = "See notebook 02_fastapi/01, '{}'."
SETTINGS = "Settings with pydantic-settings"
SECRETS = "Secrets stay secret"
KEY = "k" * 20 + "-secret-0123456789"  # 38 characters
URL = "postgresql+asyncpg://app:pw@db.internal:5432/shop"
BASE = {"APP_DATABASE_URL": URL, "APP_API_KEY": KEY}


@contextlib.contextmanager
def scenario(env: dict[str, str], dotenv: str | None = None) -> Iterator[Path]:
    """Run with exactly these APP_* variables and, in a fresh working directory, this .env file."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for name in [n for n in os.environ if n.upper().startswith("APP_")]:
                del os.environ[name]
            os.environ.update(env)
            if dotenv is not None:
                Path(tmp, ".env").write_text(dotenv)
            os.chdir(tmp)
            yield Path(tmp)
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)


def build(sub: Any, env: dict[str, str], dotenv: str | None = None) -> Any:
    """Settings() in that scenario, which must succeed; NotImplementedError (a stub) goes through."""
    with scenario(env, dotenv):
        try:
            return sub.Settings()
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 - any error here is the submission's
            shown = {k: ("<api key>" if k == "APP_API_KEY" else v) for k, v in env.items()}
            fail(
                f"Settings() with the variables {shown}"
                + (f" and a .env file {dotenv.replace(KEY, '<api key>')!r}" if dotenv else "")
                + f" raised {type(exc).__name__}: {str(exc).replace(KEY, '<api key>')[:400]}\nExpected valid "
                "settings. " + LESSON.format(SETTINGS)
            )


def _error(sub: Any, env: dict[str, str], dotenv: str | None = None) -> BaseException | None:
    try:
        with scenario(env, dotenv):
            sub.Settings()
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the kind of error is what is judged
        return exc
    return None


def _fields(exc: BaseException) -> set[str]:
    if not isinstance(exc, pydantic.ValidationError):
        return set()
    return {str(part) for err in exc.errors() for part in err.get("loc", ())}


def expect_invalid(sub: Any, env: dict[str, str], field: str, why: str, dotenv: str | None = None) -> None:
    exc = _error(sub, env, dotenv)
    shown = {k: ("<api key>" if k == "APP_API_KEY" else v) for k, v in env.items()}
    if exc is None:
        fail(
            f"Settings() with {shown} was accepted; expected pydantic's ValidationError naming {field!r}: {why}. "
            + LESSON.format(SETTINGS)
        )
    expect(
        isinstance(exc, pydantic.ValidationError) and field.lower() in {f.lower() for f in _fields(exc)},
        f"Settings() with {shown} raised {type(exc).__name__}: {str(exc)[:300]}\nExpected pydantic's "
        f"ValidationError naming the field {field!r} ({why}). " + LESSON.format(SETTINGS),
    )


async def test_values_come_from_prefixed_variables_with_defaults(sub):
    s = build(sub, {**BASE, "DATABASE_URL": "mysql://not:this@one/db", "DEBUG": "true", "DB_POOL_SIZE": "9"})
    seen = {
        "database_url": s.database_url,
        "db_pool_size": s.db_pool_size,
        "debug": s.debug,
        "cors_origins": s.cors_origins,
    }
    wanted = {"database_url": URL, "db_pool_size": 5, "debug": False, "cors_origins": []}
    expect(
        seen == wanted,
        f"With APP_DATABASE_URL={URL!r}, APP_API_KEY set, and unprefixed DATABASE_URL, DEBUG, DB_POOL_SIZE, "
        f"Settings() reads {seen}; expected {wanted}: only APP_-prefixed variables count, and the defaults "
        "apply. " + LESSON.format(SETTINGS),
    )
    key = s.api_key.get_secret_value() if hasattr(s.api_key, "get_secret_value") else s.api_key
    expect(key == KEY, f"settings.api_key holds {key!r}...; expected the value of APP_API_KEY.")
    s = build(
        sub,
        {**BASE, "APP_DB_POOL_SIZE": "12", "APP_DEBUG": "true", "app_cors_origins": '["https://a.example"]'},
    )
    expect(
        (s.db_pool_size, s.debug, s.cors_origins) == (12, True, ["https://a.example"]),
        f"With APP_DB_POOL_SIZE=12, APP_DEBUG=true, app_cors_origins='[\"https://a.example\"]', Settings() reads "
        f"db_pool_size={s.db_pool_size!r}, debug={s.debug!r}, cors_origins={s.cors_origins!r}.",
    )


async def test_database_url_is_normalised_to_asyncpg(sub):
    rest = "app:pw@db.internal:5432/shop"
    for given in (f"postgres://{rest}", f"postgresql://{rest}", f"postgresql+asyncpg://{rest}"):
        s = build(sub, {**BASE, "APP_DATABASE_URL": given})
        expect(
            s.database_url == f"postgresql+asyncpg://{rest}",
            f"APP_DATABASE_URL={given!r} gives database_url={s.database_url!r}; expected "
            f"'postgresql+asyncpg://{rest}'. " + LESSON.format(SETTINGS),
        )
    for bad in (
        f"mysql://{rest}",
        f"postgresql+psycopg://{rest}",
        f"postgresql+asyncpg2://{rest}",
        f"http://{rest}",
        f"sqlite+aiosqlite:///shop.db?x=postgresql://{rest}",
        "",
        "postgres-asyncpg",
    ):
        expect_invalid(
            sub, {**BASE, "APP_DATABASE_URL": bad}, "database_url", f"{bad!r} is not a PostgreSQL URL"
        )


async def test_the_env_file_is_read_and_the_environment_wins(sub):
    dotenv = f"APP_DATABASE_URL=postgresql://file:pw@filehost/db\nAPP_API_KEY={KEY}\nAPP_DB_POOL_SIZE=7\n"
    s = build(sub, {}, dotenv)
    expect(
        (s.database_url, s.db_pool_size) == ("postgresql+asyncpg://file:pw@filehost/db", 7),
        f"With only a .env file in the working directory ({dotenv!r} minus the key), Settings() reads "
        f"database_url={s.database_url!r}, db_pool_size={s.db_pool_size!r}; expected the file's values "
        "(normalised). " + LESSON.format(SETTINGS),
    )
    s = build(sub, {"APP_DB_POOL_SIZE": "3"}, dotenv)
    expect(
        s.db_pool_size == 3,
        f"With APP_DB_POOL_SIZE=3 in the environment and 7 in .env, db_pool_size is {s.db_pool_size!r}; the real "
        "environment wins over the file. " + LESSON.format(SETTINGS),
    )
    expect_invalid(sub, {}, "database_url", "no .env in the working directory and no variable", dotenv=None)


async def test_pool_size_and_debug_are_validated(sub):
    for size in ("1", "20"):
        s = build(sub, {**BASE, "APP_DB_POOL_SIZE": size})
        expect(s.db_pool_size == int(size), f"APP_DB_POOL_SIZE={size} gives {s.db_pool_size!r}.")
    for bad in ("0", "21", "-5", "five", "5.5"):
        expect_invalid(
            sub, {**BASE, "APP_DB_POOL_SIZE": bad}, "db_pool_size", "it must be an int from 1 to 20"
        )
    for text, value in (("1", True), ("false", False), ("yes", True), ("off", False)):
        s = build(sub, {**BASE, "APP_DEBUG": text})
        expect(s.debug is value, f"APP_DEBUG={text!r} gives debug={s.debug!r}; expected {value}.")
    expect_invalid(sub, {**BASE, "APP_DEBUG": "maybe"}, "debug", "'maybe' is not a boolean")


async def test_the_api_key_is_never_shown(sub):
    s = build(sub, BASE)
    shown = {
        "repr": repr(s),
        "str": str(s),
        "model_dump_json": s.model_dump_json(),
        "api_key": repr(s.api_key),
    }
    leaks = [where for where, text in shown.items() if KEY in text]
    expect(
        not leaks,
        f"The API key appears in {', '.join(leaks)} of the settings: declare it as SecretStr, whose repr, str "
        "and JSON show only asterisks. " + LESSON.format(SECRETS),
    )
    expect(
        hasattr(s.api_key, "get_secret_value") and s.api_key.get_secret_value() == KEY,
        "settings.api_key.get_secret_value() must give the key back (a pydantic SecretStr).",
    )
    expect_invalid(
        sub, {**BASE, "APP_API_KEY": "x" * 31}, "api_key", "31 characters is too short (32 at least)"
    )
    s = build(sub, {**BASE, "APP_API_KEY": "y" * 32})
    expect(s.api_key.get_secret_value() == "y" * 32, "A key of exactly 32 characters must be accepted.")


async def test_cors_origins_accept_json_or_commas(sub):
    cases = {
        '["https://a.example", "https://b.example"]': ["https://a.example", "https://b.example"],
        "https://a.example,https://b.example": ["https://a.example", "https://b.example"],
        "https://a.example, https://b.example ": ["https://a.example", "https://b.example"],
        "https://only.example": ["https://only.example"],
        "[]": [],
    }
    for given, wanted in cases.items():
        exc = _error(sub, {**BASE, "APP_CORS_ORIGINS": given})
        expect(
            exc is None,
            f"APP_CORS_ORIGINS={given!r} raised {type(exc).__name__}: {str(exc)[:200]}; expected {wanted}. A "
            "list field is parsed as JSON by default: accept a comma-separated value too (NoDecode and a "
            "validator). " + LESSON.format(SETTINGS),
        )
        s = build(sub, {**BASE, "APP_CORS_ORIGINS": given})
        expect(
            s.cors_origins == wanted,
            f"APP_CORS_ORIGINS={given!r} gives {s.cors_origins!r}; expected {wanted}.",
        )


async def test_missing_values_name_the_field(sub):
    expect_invalid(sub, {"APP_API_KEY": KEY}, "database_url", "it is required")
    expect_invalid(sub, {"APP_DATABASE_URL": URL}, "api_key", "it is required")


async def test_get_settings_returns_one_cached_object(sub):
    build(sub, BASE)  # the settings themselves must work first
    with scenario({**BASE, "APP_DB_POOL_SIZE": "4"}):
        expect(
            callable(getattr(sub.get_settings, "cache_clear", None)), "get_settings needs a cache_clear()."
        )
        sub.get_settings.cache_clear()
        first = sub.get_settings()
        os.environ["APP_DB_POOL_SIZE"] = "6"
        second = sub.get_settings()
        expect(
            first is second and second.db_pool_size == 4,
            "get_settings() returned "
            + ("a new object on the second call" if first is not second else "an object that changed")
            + ": it must build the settings once and return the same object (functools.lru_cache or cache). "
            + LESSON.format(SETTINGS),
        )
        sub.get_settings.cache_clear()
        third = sub.get_settings()
        expect(
            third is not first and third.db_pool_size == 6,
            f"After get_settings.cache_clear(), get_settings() gave db_pool_size={third.db_pool_size!r}; expected "
            "a new object reading the environment again (6).",
        )
        sub.get_settings.cache_clear()
