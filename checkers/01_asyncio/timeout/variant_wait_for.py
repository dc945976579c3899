# passes: asyncio.wait_for around an inner coroutine that acquires and fetches
"""The older spelling: wait_for cancels the inner coroutine at the deadline and raises TimeoutError."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_with_deadline(pool: asyncpg.Pool, query: str, seconds: float) -> Any:
    async def acquire_and_fetch() -> Any:
        async with pool.acquire() as conn:
            return await conn.fetchval(query)

    return await asyncio.wait_for(acquire_and_fetch(), seconds)
