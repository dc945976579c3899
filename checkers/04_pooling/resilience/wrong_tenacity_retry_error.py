# must fail: test_a_transient_error_is_retried_until_attempts_run_out
"""tenacity without reraise=True: after the last attempt the caller gets tenacity.RetryError, not the error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

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
        wait=wait_random_exponential(multiplier=base_delay),
        retry=retry_if_exception(_transient),
    ):
        with attempt:
            async with engine.begin() as conn:
                return await operation(conn)
    raise AssertionError("unreachable")
