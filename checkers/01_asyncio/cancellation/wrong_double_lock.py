# must fail: test_no_advisory_lock_is_left_after_any_ending
"""Polls with pg_try_advisory_lock to wait, then takes the lock again with pg_advisory_lock: a successful try
already took it, so the lock is held twice, and the one unlock leaves it held."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def with_advisory_lock(conn: asyncpg.Connection, key: int, work: Callable[[], Awaitable[T]]) -> T:
    while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
        await asyncio.sleep(0.05)
    await conn.execute("SELECT pg_advisory_lock($1)", key)
    try:
        return await work()
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
