# passes: tenacity AsyncRetrying with reraise=True, exponential wait with jitter
"""Same contract with tenacity: reraise=True hands the caller the last error exactly as raised."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

T = TypeVar("T")


def _transient(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(exc.orig, "sqlstate", None)
    return exc.connection_invalidated or code in ("40001", "40P01")


async def with_retry(
    engine: AsyncEngine,
    operation: Callable[[AsyncConnection], Awaitable[T]],
    *,
    attempts: int = 3,
    base_delay: float = 0.05,
) -> T:
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=base_delay) + wait_random(0, base_delay),
        retry=retry_if_exception(_transient),
        reraise=True,
    ):
        with attempt:
            async with engine.begin() as conn:
                return await operation(conn)
    raise AssertionError("unreachable")
