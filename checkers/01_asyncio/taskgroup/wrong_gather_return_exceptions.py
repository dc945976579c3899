# must fail: test_a_failing_query_propagates
"""gather(return_exceptions=True): a failed query comes back as an exception object inside the list."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_all(pool: asyncpg.Pool, queries: list[str]) -> list[Any]:
    async def fetch_one(query: str) -> Any:
        async with pool.acquire() as conn:
            return await conn.fetchval(query)

    return await asyncio.gather(*(fetch_one(query) for query in queries), return_exceptions=True)
