# must fail: test_other_locks_on_the_connection_are_left_alone
"""Cleans up with pg_advisory_unlock_all(): that releases every advisory lock of the session, the caller's own
locks included."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def with_advisory_lock(conn: asyncpg.Connection, key: int, work: Callable[[], Awaitable[T]]) -> T:
    await conn.execute("SELECT pg_advisory_lock($1)", key)
    try:
        return await work()
    finally:
        await conn.execute("SELECT pg_advisory_unlock_all()")
