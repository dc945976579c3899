# must fail: test_cancelling_during_work_ends_cancelled_and_releases_the_lock
"""Catches CancelledError to release the lock, then returns None: the cancelled task ends as if it had
finished, and its caller goes on with a None it never asked for."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def with_advisory_lock(conn: asyncpg.Connection, key: int, work: Callable[[], Awaitable[T]]) -> T:
    await conn.execute("SELECT pg_advisory_lock($1)", key)
    try:
        result = await work()
    except asyncio.CancelledError:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
        return None  # type: ignore[return-value]
    except Exception:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
        raise
    await conn.execute("SELECT pg_advisory_unlock($1)", key)
    return result
