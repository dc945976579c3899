# must fail: test_a_failure_stops_the_sibling_queries_on_the_server
"""Starts bare tasks with create_task and awaits them in order: a failure is seen late and cancels nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_all(pool: asyncpg.Pool, queries: list[str]) -> list[Any]:
    async def fetch_one(query: str) -> Any:
        async with pool.acquire() as conn:
            return await conn.fetchval(query)

    tasks = [asyncio.create_task(fetch_one(query)) for query in queries]
    return [await task for task in tasks]
