# must fail: test_one_deadline_covers_the_wait_and_the_query_together
"""Gives the acquire and the query each their own `seconds`: a call can last up to twice its deadline."""

from __future__ import annotations

from typing import Any

import asyncpg


async def fetch_with_deadline(pool: asyncpg.Pool, query: str, seconds: float) -> Any:
    async with pool.acquire(timeout=seconds) as conn:
        return await conn.fetchval(query, timeout=seconds)
