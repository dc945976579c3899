# must fail: test_a_failure_stops_the_sibling_queries_on_the_server
"""asyncio.gather raises the first failure at once but leaves the other queries running, unowned."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_all(pool: asyncpg.Pool, queries: list[str]) -> list[Any]:
    async def fetch_one(query: str) -> Any:
        async with pool.acquire() as conn:
            return await conn.fetchval(query)

    return await asyncio.gather(*(fetch_one(query) for query in queries))
