# must fail: test_values_come_back_in_input_order
"""Shares one acquired connection between concurrent queries: asyncpg runs one operation per connection."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_all(pool: asyncpg.Pool, queries: list[str]) -> list[Any]:
    async with pool.acquire() as conn:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(conn.fetchval(query)) for query in queries]
    return [task.result() for task in tasks]
