# must fail: test_a_failure_gives_every_connection_back_to_the_pool
"""Releases each connection only after a successful query: a failed or cancelled one is never given back."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_all(pool: asyncpg.Pool, queries: list[str]) -> list[Any]:
    async def fetch_one(query: str) -> Any:
        conn = await pool.acquire()
        value = await conn.fetchval(query)
        await pool.release(conn)
        return value

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(fetch_one(query)) for query in queries]
    return [task.result() for task in tasks]
