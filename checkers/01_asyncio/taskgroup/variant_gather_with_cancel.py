# passes: asyncio.gather over explicit tasks, cancelling and awaiting the rest itself when one fails
"""Fetch all with gather, doing by hand what a TaskGroup does on failure."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_all(pool: asyncpg.Pool, queries: list[str]) -> list[Any]:
    async def fetch_one(query: str) -> Any:
        async with pool.acquire() as conn:
            return await conn.fetchval(query)

    tasks = [asyncio.create_task(fetch_one(query)) for query in queries]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        # gather only reports the first failure: the others are still running until cancelled here.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # wait until they have really stopped
        raise
