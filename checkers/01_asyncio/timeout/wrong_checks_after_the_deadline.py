# must fail: test_returns_the_value_of_a_fast_query
"""Sleeps until the deadline, then looks whether the query is done: every call lasts the whole deadline."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_with_deadline(pool: asyncpg.Pool, query: str, seconds: float) -> Any:
    async def fetch() -> Any:
        async with pool.acquire() as conn:
            return await conn.fetchval(query)

    task = asyncio.create_task(fetch())
    await asyncio.sleep(seconds)
    if task.done():
        return task.result()
    task.cancel()
    raise TimeoutError(f"no value after {seconds} s")
