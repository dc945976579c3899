"""A deadline that really stops the query.

Run `query` with `fetchval` on a connection from `pool` and return its value, or raise TimeoutError once
`seconds` have passed. One deadline covers the whole call, waiting for a free connection included. After a
timeout the query must no longer run on the server, and the pool must stay usable.

Read: notebooks/01_asyncio/02_taskgroup_and_timeouts.ipynb, "Deadlines with asyncio.timeout()".
Check: course check asyncio/timeout
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_with_deadline(pool: asyncpg.Pool, query: str, seconds: float) -> Any:
    # One deadline around the whole call: waiting for a free connection counts too. At the deadline the
    # await inside is cancelled; asyncpg then cancels the query on the server, and the connection goes back to
    # the pool on the way out.
    async with asyncio.timeout(seconds):
        async with pool.acquire() as conn:
            return await conn.fetchval(query)
