"""Fetch all, fail together: run every query at once and let a failure stop the others.

Run each query with `fetchval` on its own pool connection, all of them concurrently, and return the values
in input order (even when later queries finish first). If any query fails, cancel the others (their queries
must stop on the server), give every connection back to the pool, and let the failure propagate (alone or in
an ExceptionGroup). An empty list gives [].

Read: notebooks/01_asyncio/02_taskgroup_and_timeouts.ipynb, "Why gather leaves orphans".
Check: course check asyncio/taskgroup
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_all(pool: asyncpg.Pool, queries: list[str]) -> list[Any]:
    async def fetch_one(query: str) -> Any:
        # The connection goes back to the pool however this ends, cancellation included.
        async with pool.acquire() as conn:
            return await conn.fetchval(query)

    # The group owns the tasks: when one fails it cancels the others and waits for them before raising.
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(fetch_one(query)) for query in queries]
    return [task.result() for task in tasks]
