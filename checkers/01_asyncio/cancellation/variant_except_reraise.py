# passes: no finally: `except BaseException` releases and re-raises, a separate release on success
"""Explicit release on both paths, re-raising whatever interrupted work (CancelledError included) unchanged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def with_advisory_lock(conn: asyncpg.Connection, key: int, work: Callable[[], Awaitable[T]]) -> T:
    await conn.fetchval("SELECT pg_advisory_lock($1)", key)
    try:
        result = await work()
    except BaseException:
        await conn.fetchval("SELECT pg_advisory_unlock($1)", key)
        raise
    await conn.fetchval("SELECT pg_advisory_unlock($1)", key)
    return result
