"""What a checker module sees: how to fail a check, and its handle on the check's own database.

A checker is `checkers/<NN_module>/<slug>/check.py`. It declares what the submission must define and a
series of checks, run in file order:

    REQUIRES = {"bounded_gather": "async def bounded_gather(factories, limit)"}

    async def test_results_come_back_in_input_order(sub, db):
        ...

Parameters are filled by name: `sub` holds the submission's required names (`sub.bounded_gather`),
`db` is a `Database` on this check's fresh database. Fail with `fail(...)` (or a plain `assert`), with a
message that says what was observed, what it means and which lesson to revisit.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import asyncpg


class CheckFailed(AssertionError):
    """A check observed behaviour that breaks the exercise's contract."""


def fail(message: str) -> NoReturn:
    raise CheckFailed(message)


def expect(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def check_timeout(seconds: float) -> Callable[[Callable], Callable]:
    """Give one check more (or less) than the default soft time limit of 10 s."""

    def mark(fn: Callable) -> Callable:
        fn.check_timeout = seconds
        return fn

    return mark


async def wait_until(
    predicate: Callable[[], Awaitable[bool] | bool], timeout: float, interval: float = 0.01
) -> bool:
    """Poll `predicate` until it is true or `timeout` passes; True if it became true."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)


async def raises(awaitable: Awaitable[Any]) -> BaseException | None:
    """Await and return the exception it raised (None if it returned). CancelledError is returned too.

    NotImplementedError is raised again, not returned: no check expects it, and it marks an untouched stub.
    """
    try:
        await awaitable
    except BaseException as exc:  # noqa: BLE001 - the caller inspects whatever came out
        if any(isinstance(e, NotImplementedError) for e in flatten(exc)):
            raise
        return exc
    return None


def flatten(exc: BaseException | None) -> list[BaseException]:
    """The leaf exceptions of an exception group (or `[exc]`)."""
    if exc is None:
        return []
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in flatten(inner)]
    return [exc]


def describe(exc: BaseException | None) -> str:
    if exc is None:
        return "nothing (it returned normally)"
    if isinstance(exc, BaseExceptionGroup):
        return f"{type(exc).__name__}[{', '.join(describe(e) for e in exc.exceptions)}]"
    return f"{type(exc).__name__}({str(exc)[:80]!r})" if str(exc) else type(exc).__name__


def marker() -> str:
    """A unique SQL comment to find a check's own queries in pg_stat_activity."""
    return f"/* chk-{secrets.token_hex(4)} */"


class Database:
    """The check's database: pools and connections it opens are closed after the check, whatever happens."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._pools: list[asyncpg.Pool] = []
        self._conns: list[asyncpg.Connection] = []
        self._observer: asyncpg.Connection | None = None
        self._engines: list[Any] = []

    async def pool(self, *, min_size: int = 1, max_size: int = 10, **kwargs: Any) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(self.dsn, min_size=min_size, max_size=max_size, **kwargs)
        self._pools.append(pool)
        return pool

    async def connect(self, **kwargs: Any) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.dsn, **kwargs)
        self._conns.append(conn)
        return conn

    @property
    def sqlalchemy_url(self) -> str:
        """This database's URL for SQLAlchemy with the asyncpg driver."""
        return self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    def engine(self, **kwargs: Any):
        """An AsyncEngine on this database, disposed after the check."""
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(self.sqlalchemy_url, **kwargs)
        self._engines.append(engine)
        return engine

    async def observer(self) -> asyncpg.Connection:
        """A separate connection for looking at the server, never handed to the submission."""
        if self._observer is None or self._observer.is_closed():
            self._observer = await asyncpg.connect(
                self.dsn, server_settings={"application_name": "course-observer"}
            )
        return self._observer

    async def active_queries(self, tag: str) -> list[str]:
        """Queries containing `tag` that the server is executing right now (other than the observer's)."""
        observer = await self.observer()
        rows = await observer.fetch(
            "SELECT query FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() "
            "AND position($1 in query) > 0",
            tag,
        )
        return [r["query"] for r in rows]

    async def close(self) -> None:
        for engine in self._engines:
            try:
                await asyncio.wait_for(engine.dispose(), 2.0)
            except Exception:  # a connection a submission kept: the database is dropped after the run anyway
                pass
        for conn in [*self._conns, self._observer]:
            if conn is not None and not conn.is_closed():
                conn.terminate()
        for pool in self._pools:
            if pool_checked_out(pool):  # a submission kept connections: a graceful close would wait for them
                pool.terminate()
                continue
            try:
                await asyncio.wait_for(pool.close(), 1.0)
            except Exception:
                pool.terminate()


def pool_checked_out(pool: asyncpg.Pool) -> int:
    """Connections of an asyncpg pool that are acquired right now."""
    return pool.get_size() - pool.get_idle_size()
