# passes: the lock is an async context manager (contextlib.asynccontextmanager) used with `async with`
"""Advisory lock as a reusable async context manager."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import asyncpg

T = TypeVar("T")


@contextlib.asynccontextmanager
async def advisory_lock(conn: asyncpg.Connection, key: int) -> AsyncIterator[None]:
    """Hold session-level advisory lock `key` on `conn` for the body of the `async with`."""
    await conn.execute("SELECT pg_advisory_lock($1)", key)
    try:
        yield
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)


async def with_advisory_lock(conn: asyncpg.Connection, key: int, work: Callable[[], Awaitable[T]]) -> T:
    async with advisory_lock(conn, key):
        return await work()
