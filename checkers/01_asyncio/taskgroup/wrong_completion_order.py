# must fail: test_values_come_back_in_input_order
"""Collects values with asyncio.as_completed: they come back in the order the queries finished."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_all(pool: asyncpg.Pool, queries: list[str]) -> list[Any]:
    async def fetch_one(query: str) -> Any:
        async with pool.acquire() as conn:
            return await conn.fetchval(query)

    return [await next_done for next_done in asyncio.as_completed([fetch_one(query) for query in queries])]
