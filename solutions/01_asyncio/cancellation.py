"""Release the lock, let cancellation through.

Take the session-level advisory lock `key` on `conn` (pg_advisory_lock: wait while another session holds
it), await `work()` and return its result. Release the lock however `work` ends: it returns, it raises (the
same exception propagates) or the task is cancelled. A cancellation must go on as a cancellation (the task
ends cancelled), never turn into a return value or another error. Release only this lock: leave any other
lock `conn` holds alone.

Read: notebooks/01_asyncio/04_cancellation.ipynb, "Cleanup in finally".
Check: course check asyncio/cancellation
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def with_advisory_lock(conn: asyncpg.Connection, key: int, work: Callable[[], Awaitable[T]]) -> T:
    await conn.execute("SELECT pg_advisory_lock($1)", key)  # before the try: if this fails, nothing to release
    try:
        return await work()
    finally:  # runs on return, on an exception and on CancelledError, which then goes on by itself
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
