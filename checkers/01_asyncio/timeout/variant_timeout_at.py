# passes: asyncio.timeout_at with an absolute deadline computed from loop.time()
"""A deadline as a point in time on the event loop's clock."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_with_deadline(pool: asyncpg.Pool, query: str, seconds: float) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    async with asyncio.timeout_at(deadline):
        async with pool.acquire() as conn:
            return await conn.fetchval(query)
