# must fail: test_the_deadline_covers_waiting_for_a_connection
"""Puts only the query under asyncio.timeout: waiting for a connection from a busy pool has no deadline."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_with_deadline(pool: asyncpg.Pool, query: str, seconds: float) -> Any:
    async with pool.acquire() as conn:
        async with asyncio.timeout(seconds):
            return await conn.fetchval(query)
