# must fail: test_never_more_than_limit_in_flight
"""Calls every factory before the semaphore: the work may already be running, unbounded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def bounded_gather(factories: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    semaphore = asyncio.Semaphore(limit)
    awaitables = [factory() for factory in factories]

    async def run(awaitable: Awaitable[T]) -> T:
        async with semaphore:
            return await awaitable

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(run(a)) for a in awaitables]
    return [t.result() for t in tasks]
