# must fail: test_a_slow_query_raises_timeout_error_at_the_deadline
"""Catches the TimeoutError and returns None: the caller cannot tell a timeout from a NULL."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_with_deadline(pool: asyncpg.Pool, query: str, seconds: float) -> Any:
    try:
        async with asyncio.timeout(seconds):
            async with pool.acquire() as conn:
                return await conn.fetchval(query)
    except TimeoutError:
        return None
