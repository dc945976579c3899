"""Checks for pooling/engine: `recommend_pool_size(...)` and `make_engine(url, ...)`.

`recommend_pool_size` is a pure function, judged on a table of cases. Engines made by `make_engine` are
judged from outside: backends are counted in `pg_stat_activity` by the application name the check
chose (from the checker's own observer connection), settings are read on the engine's own connections
with `pg_settings` (an integer in milliseconds, whatever unit the value was written in), and the
terminated backends are ended by the observer with `pg_terminate_backend`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from course.checking import Database, describe, expect, fail, raises, wait_until

REQUIRES = {
    "recommend_pool_size": "def recommend_pool_size(rps, hold_seconds)",
    "make_engine": "def make_engine(url, *, pool_size, max_overflow)",
}
LESSON = "See notebook 04_pooling/02, '{}'."
ROLE_DEFAULT_TIMEOUT_MS = 60_000  # what the check role gets when nobody sets statement_timeout

# (positional args, keyword args, expected size, why): the learner sees the failing row.
CASES: list[tuple[tuple, dict, int, str]] = [
    ((100, 0.05), {}, 10, "100 x 0.05 x 2 = 10"),
    ((10, 0.1), {}, 5, "10 x 0.1 x 2 = 2, raised to minimum 5"),
    ((0, 0.1), {}, 5, "no traffic still keeps the minimum"),
    ((1.2, 1.0), {"minimum": 1}, 3, "1.2 x 1 x 2 = 2.4, rounded UP (a partial connection is a whole one)"),
    (
        (0.1 * 3, 10),
        {"safety": 1.0, "minimum": 1},
        3,
        "0.1*3 x 10 = 3.0000000000000004: noise, not a 4th connection",
    ),
    (
        (100, 0.07),
        {"safety": 1.0, "minimum": 1},
        7,
        "100 x 0.07 = 7.000000000000001: noise, not an 8th connection",
    ),
    ((200, 0.05), {"safety": 3.0}, 30, "200 x 0.05 x 3 = 30"),
    ((1000, 0.5), {}, 90, "1000 x 0.5 x 2 = 1000, capped at (100 - 10) // 1 = 90"),
    ((1000, 0.5), {"instances": 4}, 22, "capped at (100 - 10) // 4 = 22"),
    (
        (50, 0.1),
        {"instances": 3, "max_connections": 40, "reserved": 4},
        10,
        "50 x 0.1 x 2 = 10, under the cap 12",
    ),
    ((10, 0.1), {"instances": 4, "max_connections": 20}, 2, "the cap (20 - 10) // 4 = 2 wins over minimum 5"),
    ((30, 0.2), {"minimum": 0, "safety": 1.0}, 6, "30 x 0.2 = 6.000000000000001: noise, not a 7th"),
]
INVALID: list[tuple[tuple, dict, str]] = [
    ((-1, 0.1), {}, "a negative rps"),
    ((10, -0.1), {}, "a negative hold_seconds"),
    ((10, 0.1), {"safety": 0.5}, "safety below 1"),
    ((10, 0.1), {"instances": 0}, "instances = 0"),
    ((10, 0.1), {"minimum": -1}, "a negative minimum"),
    ((10, 0.1), {"max_connections": -5}, "a negative max_connections"),
    ((10, 0.1), {"reserved": -1}, "a negative reserved"),
    ((10, 0.1), {"max_connections": 10, "reserved": 10}, "no connection left (10 - 10 = 0)"),
    (
        (10, 0.1),
        {"max_connections": 10, "reserved": 5, "instances": 6},
        "no connection left per instance (5 // 6 = 0)",
    ),
]


def _call(args: tuple, kwargs: dict) -> str:
    shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"recommend_pool_size({', '.join(shown)})"


async def test_recommend_pool_size_follows_littles_law_within_the_bounds(sub):
    for args, kwargs, expected, why in CASES:
        got = sub.recommend_pool_size(*args, **kwargs)
        expect(
            type(got) is int and got == expected,
            f"{_call(args, kwargs)} returned {got!r}; expected the int {expected} ({why}). "
            + LESSON.format("Little's law"),
        )


async def test_recommend_pool_size_rejects_impossible_inputs(sub):
    for args, kwargs, why in INVALID:
        try:
            got = sub.recommend_pool_size(*args, **kwargs)
        except ValueError:
            continue
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 - the learner's exception is shown
            fail(f"{_call(args, kwargs)} raised {describe(exc)}; expected ValueError ({why}).")
        fail(
            f"{_call(args, kwargs)} returned {got!r}; expected ValueError ({why}). "
            + LESSON.format("Little's law")
        )


def _app_name() -> str:
    return f"chk-{secrets.token_hex(4)}"


async def _backends(db: Database, app: str) -> int:
    observer = await db.observer()
    return await observer.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND usename = current_user", app
    )


class Engines:
    """Engines made by the submission, disposed at the end of the check whatever happens."""

    def __init__(self, sub: Any, db: Database) -> None:
        self.sub, self.db, self.made = sub, db, []

    def make(self, **kwargs: Any) -> AsyncEngine:
        engine = self.sub.make_engine(self.db.sqlalchemy_url, **kwargs)
        self.made.append(engine)
        expect(
            isinstance(engine, AsyncEngine),
            f"make_engine(url, ...) returned {type(engine).__name__}; expected an AsyncEngine "
            "(sqlalchemy.ext.asyncio.create_async_engine).",
        )
        return engine

    async def __aenter__(self) -> Engines:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for engine in self.made:
            if isinstance(engine, AsyncEngine):
                try:
                    await asyncio.wait_for(engine.dispose(), 3.0)
                except Exception:  # noqa: BLE001 - connections the check kept; the database is dropped anyway
                    pass


async def test_fifty_sessions_never_hold_more_than_pool_size_plus_overflow(sub, db):
    app = _app_name()
    pool_size, max_overflow = 3, 2
    async with Engines(sub, db) as engines:
        engine = engines.make(
            pool_size=pool_size, max_overflow=max_overflow, pool_timeout=10.0, application_name=app
        )
        peak = 0
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, await _backends(db, app))
                await asyncio.sleep(0.01)

        async def session() -> None:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT pg_sleep(0.05)"))

        sampler = asyncio.create_task(sample())
        try:
            # 50 sessions of 0.05 s over 5 connections: about 0.5 s; pool_timeout 10 s leaves a wide margin.
            results = await asyncio.gather(*(session() for _ in range(50)), return_exceptions=True)
        finally:
            stop.set()
            await sampler
        errors = [r for r in results if isinstance(r, BaseException)]
        if any(isinstance(e, NotImplementedError) for e in errors):
            raise next(e for e in errors if isinstance(e, NotImplementedError))
        expect(
            peak <= pool_size + max_overflow,
            f"make_engine(url, pool_size={pool_size}, max_overflow={max_overflow}, application_name={app!r}): under "
            f"50 concurrent sessions the server saw up to {peak} backends with that application name; expected at "
            f"most {pool_size + max_overflow}. The pool must be the only way to the database, bounded by pool_size + "
            "max_overflow (no NullPool, no unbounded overflow). "
            + (f"{len(errors)} sessions failed, e.g. {describe(errors[0])}. " if errors else "")
            + LESSON.format("An engine you can trust"),
        )
        expect(
            not errors,
            f"Of 50 concurrent sessions on make_engine(url, pool_size={pool_size}, max_overflow={max_overflow}, "
            f"pool_timeout=10.0), {len(errors)} failed, e.g. {describe(errors[0]) if errors else ''}; expected all to "
            "wait for a connection and succeed.",
        )
        expect(
            peak >= 1,
            f"Under 50 concurrent sessions no backend had application_name {app!r}; expected make_engine to set the "
            "application_name it is given on every connection. " + LESSON.format("An engine you can trust"),
        )


async def _settings(conn: Any) -> tuple[int, str, int]:
    row = (
        await conn.execute(
            sa.text(
                "SELECT (SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout'), "
                "current_setting('application_name'), pg_backend_pid()"
            )
        )
    ).one()
    return row[0], row[1], row[2]


async def test_every_connection_keeps_its_settings_also_after_check_in(sub, db):
    app = _app_name()
    timeout_ms = 7_000
    call = f"make_engine(url, pool_size=2, max_overflow=0, statement_timeout_ms={timeout_ms}, application_name={app!r})"
    async with Engines(sub, db) as engines:
        engine = engines.make(
            pool_size=2, max_overflow=0, statement_timeout_ms=timeout_ms, application_name=app
        )
        seen: list[tuple[str, int, str, int]] = []
        for round_ in ("fresh", "checked in and out again", "checked in and out a third time"):
            both = asyncio.Barrier(2)

            async def one(label: str = round_, barrier: asyncio.Barrier = both) -> None:
                async with engine.connect() as conn:
                    await barrier.wait()  # both connections out at once: the two pooled connections are used
                    seen.append((label, *await _settings(conn)))
                    await conn.rollback()

            await asyncio.wait_for(asyncio.gather(one(), one()), 8.0)
        for label, timeout, name, pid in seen:
            expect(
                timeout == timeout_ms,
                f"{call}: on a {label} connection (backend {pid}) the server's statement_timeout is {timeout} ms; "
                f"expected {timeout_ms} ms. "
                + (
                    "That is the role's default: the setting was lost. A SET run in a connect hook inside a "
                    "transaction is rolled back when the connection is first checked in; set it for the session "
                    "(server_settings) or commit it. "
                    if timeout == ROLE_DEFAULT_TIMEOUT_MS and label != "fresh"
                    else ""
                )
                + LESSON.format("Settings that survive check-in"),
            )
            expect(
                name == app,
                f"{call}: on a {label} connection (backend {pid}) application_name is {name!r}; expected {app!r}. "
                + LESSON.format("Settings that survive check-in"),
            )
        recycle = getattr(getattr(engine, "pool", None), "_recycle", None)
        expect(
            recycle == 1800,
            f"{call}: the pool recycles connections "
            + ("never (pool_recycle=-1)" if recycle == -1 else f"after {recycle} s")
            + "; expected pool_recycle=1800 (30 minutes). "
            + LESSON.format("An engine you can trust"),
        )


async def test_a_query_longer_than_the_timeout_is_cancelled_by_the_server(sub, db):
    call = "make_engine(url, pool_size=1, max_overflow=0, statement_timeout_ms=200)"
    async with Engines(sub, db) as engines:
        engine = engines.make(
            pool_size=1, max_overflow=0, statement_timeout_ms=200, application_name=_app_name()
        )
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_sleep(0.01)"))  # a short query runs
        started = time.monotonic()

        async def long_query() -> None:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT pg_sleep(3)"))

        # 3 s sleep against a 0.2 s timeout; 2.5 s leaves a wide margin for a loaded machine.
        exc = await raises(asyncio.wait_for(long_query(), 2.5))
        elapsed = time.monotonic() - started
        orig = getattr(exc, "orig", None)
        codes = {getattr(e, "sqlstate", None) for e in (orig, getattr(orig, "__cause__", None))}
        expect(
            "57014" in codes,
            f"{call}, then SELECT pg_sleep(3): after {elapsed:.2f} s it raised {describe(exc)}; expected the server "
            "to cancel it (SQLSTATE 57014, query_canceled, raised as sqlalchemy.exc.DBAPIError) after about 0.2 s. "
            "The timeout belongs on the server, for every connection. "
            + LESSON.format("Settings that survive check-in"),
        )
        async with engine.connect() as conn:  # the connection is usable after the cancellation
            await conn.execute(sa.text("SELECT 1"))


async def test_an_exhausted_pool_raises_timeout_error_after_pool_timeout(sub, db):
    app = _app_name()
    call = f"make_engine(url, pool_size=2, max_overflow=1, pool_timeout=1.0, application_name={app!r})"
    async with Engines(sub, db) as engines:
        engine = engines.make(pool_size=2, max_overflow=1, pool_timeout=1.0, application_name=app)
        held = [await engine.connect() for _ in range(3)]
        try:
            for conn in held:
                await conn.execute(sa.text("SELECT 1"))
            started = time.monotonic()
            # pool_timeout is 1 s: anything between 0.5 s and 5 s passes (a loaded machine is slow, never fast).
            exc = await raises(asyncio.wait_for(engine.connect(), 5.0))
            elapsed = time.monotonic() - started
            if exc is None:
                fail(
                    f"{call}: with 3 connections held, a 4th checkout succeeded after {elapsed:.2f} s; expected "
                    "sqlalchemy.exc.TimeoutError after about 1 s. The pool must be bounded by pool_size + "
                    f"max_overflow (the server saw {await _backends(db, app)} backends). "
                    + LESSON.format("When the pool runs dry")
                )
            expect(
                isinstance(exc, sa_exc.TimeoutError) and 0.5 <= elapsed <= 5.0,
                f"{call}: with 3 connections held, a 4th checkout raised {describe(exc)} after {elapsed:.2f} s; "
                "expected sqlalchemy.exc.TimeoutError after about pool_timeout = 1 s. "
                + LESSON.format("When the pool runs dry"),
            )
        finally:
            for conn in held:
                await conn.close()


async def test_the_next_query_succeeds_after_every_backend_was_terminated(sub, db):
    app = _app_name()
    call = f"make_engine(url, pool_size=3, max_overflow=0, application_name={app!r})"
    async with Engines(sub, db) as engines:
        engine = engines.make(pool_size=3, max_overflow=0, application_name=app)
        warm = asyncio.Barrier(3)

        async def use() -> None:
            async with engine.connect() as conn:
                await warm.wait()  # three connections open at once, all back in the pool afterwards
                await conn.execute(sa.text("SELECT 1"))

        await asyncio.wait_for(asyncio.gather(use(), use(), use()), 8.0)
        observer = await db.observer()
        killed = await observer.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1 AND usename = current_user",
            app,
        )
        expect(
            killed >= 1,
            f"{call}: after three sessions had closed, no backend with application_name {app!r} was left to "
            "terminate; expected the pool to keep its connections open for the next checkout (and the "
            "application_name set on each). " + LESSON.format("An engine you can trust"),
        )
        gone = await wait_until(lambda: _gone(db, app), 3.0)
        expect(gone, f"{call}: the {killed} terminated backends did not go away within 3 s.")

        async def query() -> Any:
            async with engine.connect() as conn:
                return (await conn.execute(sa.text("SELECT 42"))).scalar()

        results = await asyncio.gather(*(query() for _ in range(3)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        expect(
            not errors and results == [42, 42, 42],
            f"{call}: the checker terminated all {killed} pooled backends (pg_terminate_backend, as a failover "
            f"does); then 3 queries gave {[describe(r) if isinstance(r, BaseException) else r for r in results]}; "
            "expected each to succeed on a new connection. A pool that tests connections before handing them out "
            "(pool_pre_ping) replaces dead ones. " + LESSON.format("An engine you can trust"),
        )


async def _gone(db: Database, app: str) -> bool:
    return await _backends(db, app) == 0
