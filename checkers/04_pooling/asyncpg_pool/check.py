"""Checks for pooling/asyncpg_pool: `make_pool(dsn, *, min_size=2, max_size=10)`.

The check database's default time zone is set to America/New_York (`ALTER DATABASE ... SET timezone`,
allowed to the check role as the database's owner), so a connection reports UTC only when the pool
sets it, and keeps reporting it only when the setting survives asyncpg's `RESET ALL` at release.
Backends are counted in `pg_stat_activity` from the checker's observer connection: the check role's
sessions other than the observer's, so the submission's pool is all that is counted.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from course.checking import Database, describe, expect, fail, marker, wait_until

REQUIRES = {"make_pool": "async def make_pool(dsn, *, min_size=2, max_size=10)"}
LESSON = "See notebook 04_pooling/01, '{}'."
DATABASE_ZONE = "America/New_York"
# UTC has offset 0 in winter and in summer; Europe/London or GMT-in-winter zones do not pass both.
ZONE_AND_TIMEOUT = (
    "SELECT current_setting('timezone') AS zone, "
    "extract(timezone FROM '2024-01-15 12:00+00'::timestamptz) = 0 "
    "AND extract(timezone FROM '2024-07-15 12:00+00'::timestamptz) = 0 AS utc, "
    "(SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout') AS timeout_ms, "
    "pg_backend_pid() AS pid"
)


async def _backends(db: Database) -> int:
    """Sessions of the check role other than the checker's observer: the submission's connections."""
    observer = await db.observer()
    return await observer.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend'"
    )


async def _quiet(db: Database) -> None:
    """Wait for sessions left by an earlier check to end, so that counts are the submission's alone."""
    await wait_until(lambda: _none_left(db), 3.0)


async def _none_left(db: Database) -> bool:
    return await _backends(db) == 0


async def _new_york(db: Database) -> None:
    """Make the database's default time zone America/New_York, and prove it on a new connection."""
    observer = await db.observer()
    await observer.execute(
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone = %L', current_database(), "
        f"'{DATABASE_ZONE}'); END $$"
    )
    probe = await db.connect()
    zone = await probe.fetchval("SHOW timezone")
    await probe.close()
    expect(
        zone == DATABASE_ZONE,
        f"checker setup: a new connection reports time zone {zone!r}, not {DATABASE_ZONE}.",
    )


class Pools:
    """Pools made by the submission, closed (or terminated) at the end of the check whatever happens."""

    def __init__(self, sub: Any, db: Database) -> None:
        self.sub, self.db, self.made = sub, db, []

    async def make(self, *, duck: bool = False, **kwargs: Any) -> Any:
        """The submission's pool; unless `duck`, it must be a real asyncpg.Pool (acquire, release, close)."""
        pool = await self.sub.make_pool(self.db.dsn, **kwargs)
        self.made.append(pool)
        shown = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        expect(
            duck or isinstance(pool, asyncpg.Pool),
            f"make_pool(dsn, {shown}) returned {type(pool).__name__}; expected an open asyncpg.Pool "
            "(await asyncpg.create_pool(...)). " + LESSON.format("A pool of your own"),
        )
        return pool

    async def __aenter__(self) -> Pools:
        await _quiet(self.db)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for pool in self.made:
            terminate = getattr(pool, "terminate", None)
            if callable(terminate):
                terminate()


async def test_min_size_backends_right_after_creation(sub, db):
    async with Pools(sub, db) as pools:
        await pools.make(min_size=3, max_size=6)
        await wait_until(lambda: _at_least(db, 3), 1.0)  # backends appear as they start; 1 s is ample
        count = await _backends(db)
        expect(
            count == 3,
            f"Right after make_pool(dsn, min_size=3, max_size=6) returned, the server had {count} backends of the "
            "check role; expected 3: a pool opens min_size connections when it is created and keeps them. "
            + LESSON.format("A pool of your own"),
        )


async def _at_least(db: Database, n: int) -> bool:
    return await _backends(db) >= n


async def test_hundred_concurrent_fetchval_never_use_more_than_max_size(sub, db):
    async with Pools(sub, db) as pools:
        pool = await pools.make(min_size=1, max_size=4, duck=True)  # only fetchval is used here
        tag = marker()
        peak = 0
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, await _backends(db))
                await asyncio.sleep(0.01)

        sampler = asyncio.create_task(sample())
        try:
            # 100 queries of 0.02 s over 4 connections: about 0.5 s.
            results = await asyncio.wait_for(
                asyncio.gather(
                    *(pool.fetchval(f"SELECT {i} FROM pg_sleep(0.02) {tag}") for i in range(100)),
                    return_exceptions=True,
                ),
                8.0,
            )
        finally:
            stop.set()
            await sampler
        errors = [r for r in results if isinstance(r, BaseException)]
        expect(
            peak <= 4,
            f"make_pool(dsn, min_size=1, max_size=4), then 100 concurrent pool.fetchval(...) calls: the server saw up "
            f"to {peak} backends of the check role; expected at most 4 (max_size). One pool for the application, "
            "created once: its connections are reused. "
            + (f"{len(errors)} calls failed, e.g. {describe(errors[0])}. " if errors else "")
            + LESSON.format("A pool of your own"),
        )
        expect(
            results == list(range(100)),
            f"100 concurrent pool.fetchval('SELECT i ...') calls gave {len(errors)} errors "
            f"({describe(errors[0]) if errors else 'none'}) or wrong values; expected each call's own number back.",
        )


async def test_every_connection_uses_utc_and_the_timeout_also_after_release(sub, db):
    await _new_york(db)
    async with Pools(sub, db) as pools:
        pool = await pools.make(min_size=2, max_size=3)
        call = "make_pool(dsn, min_size=2, max_size=3)"
        seen: list[tuple[str, Any]] = []
        for label in ("first", "second (after release)", "third (after release)"):
            held = [
                await asyncio.wait_for(pool.acquire(), 5.0) for _ in range(3)
            ]  # every connection the pool has
            try:
                for conn in held:
                    seen.append((label, await conn.fetchrow(ZONE_AND_TIMEOUT)))
                    # A request that changes its own session must not leak into the next acquire.
                    await conn.execute("SET timezone = 'Asia/Tokyo'")
            finally:
                for conn in held:
                    await pool.release(conn)
        seen.append(("pool.fetchval", await pool.fetchrow(ZONE_AND_TIMEOUT)))
        for label, row in seen:
            expect(
                row["utc"],
                f"{call}: on the {label} acquire, backend {row['pid']} reports time zone {row['zone']!r}; expected "
                f"UTC (the database's default here is {DATABASE_ZONE}). "
                + (
                    "That is the database default: asyncpg runs RESET ALL when a connection is released, which "
                    "undoes a SET made once in init. "
                    if row["zone"] == DATABASE_ZONE and label != "first"
                    else ""
                )
                + LESSON.format("What RESET ALL undoes"),
            )
            expect(
                row["timeout_ms"] == 30_000,
                f"{call}: on the {label} acquire, backend {row['pid']} has statement_timeout = {row['timeout_ms']} ms; "
                "expected 30000 ms (30 s) on every connection, every time it is acquired. "
                + LESSON.format("What RESET ALL undoes"),
            )


async def test_jsonb_comes_back_as_python_objects(sub, db):
    observer = await db.observer()
    await observer.execute(
        "CREATE TABLE IF NOT EXISTS pool_check_docs (id int PRIMARY KEY, doc jsonb NOT NULL)"
    )
    await observer.execute(
        'INSERT INTO pool_check_docs VALUES (1, \'{"sku": "SKU-1", "sizes": [1, 2], "meta": {"ok": true}}\') '
        "ON CONFLICT DO NOTHING"
    )
    wanted = {"sku": "SKU-1", "sizes": [1, 2], "meta": {"ok": True}}
    async with Pools(sub, db) as pools:
        pool = await pools.make(min_size=2, max_size=2)
        for label in ("first", "after release"):
            held = [await asyncio.wait_for(pool.acquire(), 5.0) for _ in range(2)]
            try:
                for conn in held:
                    got = await conn.fetchval("SELECT doc FROM pool_check_docs WHERE id = 1")
                    expect(
                        got == wanted,
                        f"make_pool(dsn, min_size=2, max_size=2): on the {label} acquire, a jsonb column read back "
                        f"as {type(got).__name__} {got!r}; expected the dict {wanted!r}. asyncpg returns jsonb as "
                        "text unless a codec is registered on each connection (init). "
                        + LESSON.format("A pool of your own"),
                    )
            finally:
                for conn in held:
                    await pool.release(conn)
        array = await pool.fetchval("SELECT '[1, {\"a\": null}]'::jsonb")
        expect(
            array == [1, {"a": None}],
            f"SELECT '[1, {{\"a\": null}}]'::jsonb read back as {array!r}; expected the list [1, {{'a': None}}].",
        )


async def test_idle_connections_close_after_300_seconds(sub, db):
    async with Pools(sub, db) as pools:
        pool = await pools.make(min_size=1, max_size=2)
        # Waiting 300 s is not an option: read the pool's own setting (asyncpg keeps it on the Pool).
        lifetime = getattr(pool, "_max_inactive_connection_lifetime", None)
        expect(
            lifetime == 300,
            f"make_pool(dsn, ...) made a pool whose max_inactive_connection_lifetime is {lifetime!r}; expected 300 "
            "(seconds): idle connections are closed after five minutes. "
            + LESSON.format("A pool of your own"),
        )


async def test_no_backend_remains_after_close(sub, db):
    async with Pools(sub, db) as pools:
        pool = await pools.make(min_size=2, max_size=4)
        await asyncio.gather(*(pool.fetchval("SELECT pg_sleep(0.02)") for _ in range(8)))
        before = await _backends(db)
        expect(
            before >= 2,
            f"After 8 queries, the pool has {before} backends on the server; expected at least 2.",
        )
        try:
            await asyncio.wait_for(pool.close(), 5.0)
        except TimeoutError:
            fail("pool.close() did not finish within 5 s although no connection was acquired.")
        gone = await wait_until(lambda: _none_left(db), 2.0)  # the server notices closed sockets in ms
        left = await _backends(db)
        expect(
            gone,
            f"make_pool(dsn, min_size=2, max_size=4) had {before} backends; 2 s after pool.close() the server still "
            f"had {left}; expected none: closing the pool closes every connection it opened. "
            + LESSON.format("A pool of your own"),
        )
