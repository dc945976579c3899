# must fail: test_calls_with_different_limits_can_run_at_the_same_time
"""One semaphore for the whole module, made by the first call: a second call shares the first one's limit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

_semaphore: asyncio.Semaphore | None = None


async def bounded_gather(factories: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    global _semaphore
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if _semaphore is None:
        _semaphore = asyncio.Semaphore(limit)
    semaphore = _semaphore

    async def run(factory: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await factory()

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(run(f)) for f in factories]
    finally:
        _semaphore = None if not semaphore.locked() and semaphore is _semaphore else _semaphore
    return [t.result() for t in tasks]
