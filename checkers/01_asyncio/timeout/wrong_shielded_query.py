# must fail: test_the_slow_query_stops_on_the_server
"""Shields the query from the timeout: the caller gets TimeoutError while the query keeps running on the server."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_with_deadline(pool: asyncpg.Pool, query: str, seconds: float) -> Any:
    async def fetch() -> Any:
        async with pool.acquire() as conn:
            return await conn.fetchval(query)

    # shield() so that a timeout "does not break the connection"
    return await asyncio.wait_for(asyncio.shield(fetch()), seconds)
