# passes: asyncpg's own timeout= arguments, the query getting only what the acquire left of the deadline
"""One deadline spent in two steps with asyncpg's timeouts (which also cancel the query on the server)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_with_deadline(pool: asyncpg.Pool, query: str, seconds: float) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    async with pool.acquire(timeout=seconds) as conn:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError(f"no connection within {seconds} s")
        return await conn.fetchval(query, timeout=remaining)
