# must fail: test_work_waits_while_another_session_holds_the_lock
"""Uses pg_try_advisory_lock and ignores its answer: while another session holds the lock, work runs anyway."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def with_advisory_lock(conn: asyncpg.Connection, key: int, work: Callable[[], Awaitable[T]]) -> T:
    await conn.execute("SELECT pg_try_advisory_lock($1)", key)
    try:
        return await work()
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
