# must fail: test_queries_run_concurrently
"""Awaits each query before starting the next: correct values, but nothing runs at the same time."""

from __future__ import annotations

from typing import Any

import asyncpg


async def fetch_all(pool: asyncpg.Pool, queries: list[str]) -> list[Any]:
    values = []
    for query in queries:
        async with pool.acquire() as conn:
            values.append(await conn.fetchval(query))
    return values
