# must fail: test_a_statement_timeout_is_not_retried
"""Retries every database error that is not a constraint violation, a statement_timeout (57014) included."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
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
            if attempt == attempts or isinstance(exc, IntegrityError):
                raise
        # "Equal jitter": half the backoff is fixed (no storm), half random (clients do not retry in step).
        backoff = base_delay * 2 ** (attempt - 1)
        await asyncio.sleep(backoff / 2 + random.uniform(0, backoff / 2))
    raise AssertionError("unreachable: the last attempt returns or raises")
