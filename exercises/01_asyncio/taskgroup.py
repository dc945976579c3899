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
    # TODO: your code here
    raise NotImplementedError
