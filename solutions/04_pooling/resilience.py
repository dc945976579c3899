"""Retrying only what is safe to retry: serialization failures, deadlocks and lost connections.

`await with_retry(engine, operation, attempts=3, base_delay=0.05)` runs `await operation(conn)` in a
transaction of its own (`conn` is an `AsyncConnection`; the transaction commits when the operation returns)
and returns its result. A transient failure starts the whole transaction again, on a fresh connection, after
an exponential backoff with jitter (about `base_delay`, then twice that, ...):
- serialization failure (SQLSTATE 40001) and deadlock (40P01), also when they surface at COMMIT;
- a lost connection (SQLAlchemy marks the error `connection_invalidated`).
Anything else propagates at once, untouched: a constraint violation, a query cancelled by
`statement_timeout` (57014), an asyncio cancellation, any other error. `attempts` is the total number of
tries; after the last one, the last exception propagates exactly as SQLAlchemy raised it.

Read: notebooks/04_pooling/04_watching_and_surviving.ipynb, "Retrying only what is safe".
Check: course check pooling/resilience
"""

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
        except DBAPIError as exc:  # CancelledError is no Exception at all: it never reaches this line
            if attempt == attempts or not transient(exc):
                raise
        # "Equal jitter": half the backoff is fixed (no storm), half random (clients do not retry in step).
        backoff = base_delay * 2 ** (attempt - 1)
        await asyncio.sleep(backoff / 2 + random.uniform(0, backoff / 2))
    raise AssertionError("unreachable: the last attempt returns or raises")
