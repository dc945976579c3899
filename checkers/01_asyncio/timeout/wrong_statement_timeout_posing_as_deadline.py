# must fail: test_the_deadline_covers_waiting_for_a_connection
"""Lets Postgres enforce the deadline with statement_timeout: the wait for a free connection has no deadline."""

from __future__ import annotations

from typing import Any

import asyncpg


async def fetch_with_deadline(pool: asyncpg.Pool, query: str, seconds: float) -> Any:
    async with pool.acquire() as conn:
        await conn.execute(f"SET statement_timeout = {int(seconds * 1000)}")
        try:
            return await conn.fetchval(query)
        except asyncpg.QueryCanceledError as exc:
            raise TimeoutError(f"query took longer than {seconds} s") from exc
