# must fail: test_cancelling_during_work_ends_cancelled_and_releases_the_lock
"""Turns the cancellation into a RuntimeError: the task ends failed instead of cancelled, and the caller that
cancelled it gets an error it did not cause."""

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
    except asyncio.CancelledError:
        raise RuntimeError(f"work under advisory lock {key} was cancelled") from None
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
