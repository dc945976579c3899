# must fail: test_a_cancelled_call_stops_at_once
"""Treats a CancelledError as an interrupted query worth another try."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")

TRANSIENT_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


async def with_retry(
    engine: AsyncEngine,
    operation: Callable[[AsyncConnection], Awaitable[T]],
    *,
    attempts: int = 3,
    base_delay: float = 0.05,
) -> T:
    def transient(exc: DBAPIError) -> bool:
        if exc.connection_invalidated:  # the connection was lost: a new one may well succeed
            return True
        # The server's error code, on SQLAlchemy's wrapper of the driver error or the asyncpg error under it.
        codes = {getattr(e, "sqlstate", None) for e in (exc.orig, getattr(exc.orig, "__cause__", None))}
        return bool(codes & TRANSIENT_SQLSTATES)

    for attempt in range(1, attempts + 1):
        try:
            # begin() commits on exit: a failure at COMMIT is raised here too, inside the try.
            async with engine.begin() as conn:
                return await operation(conn)
        except (DBAPIError, asyncio.CancelledError) as exc:
            interrupted = isinstance(exc, asyncio.CancelledError)
            if attempt == attempts or not (interrupted or transient(exc)):
                raise
        # "Equal jitter": half the backoff is fixed (no storm), half random (clients do not retry in step).
        backoff = base_delay * 2 ** (attempt - 1)
        await asyncio.sleep(backoff / 2 + random.uniform(0, backoff / 2))
    raise AssertionError("unreachable: the last attempt returns or raises")
