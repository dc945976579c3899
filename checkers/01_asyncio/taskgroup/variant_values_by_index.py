# passes: explicit acquire/release in try/finally, each task writes its value at its own index
"""Fetch all into a preallocated list: each task writes its value at its own index."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_all(pool: asyncpg.Pool, queries: list[str]) -> list[Any]:
    values: list[Any] = [None] * len(queries)

    async def fetch_into(index: int) -> None:
        conn = await pool.acquire()
        try:
            values[index] = await conn.fetchval(queries[index])
        finally:
            await pool.release(conn)

    async with asyncio.TaskGroup() as group:
        for index in range(len(queries)):
            group.create_task(fetch_into(index))
    return values
