# passes: asyncio.wait(return_when=FIRST_EXCEPTION), then cancel and await what is still pending
"""Fetch all with asyncio.wait: stop waiting at the first failure, cancel the rest, re-raise it."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def fetch_all(pool: asyncpg.Pool, queries: list[str]) -> list[Any]:
    if not queries:
        return []  # asyncio.wait refuses an empty set

    async def fetch_one(query: str) -> Any:
        async with pool.acquire() as conn:
            return await conn.fetchval(query)

    tasks = [asyncio.create_task(fetch_one(query)) for query in queries]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        # Reached on a failure, and also if the caller cancels us while we wait.
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()
    return [task.result() for task in tasks]
