# must fail: test_cancelling_while_waiting_for_the_lock_ends_cancelled
"""Shields the lock request from cancellation: the task ends cancelled, but the request keeps waiting on the
server and takes the lock later, for a caller that is gone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def with_advisory_lock(conn: asyncpg.Connection, key: int, work: Callable[[], Awaitable[T]]) -> T:
    await asyncio.shield(conn.execute("SELECT pg_advisory_lock($1)", key))
    try:
        return await work()
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
