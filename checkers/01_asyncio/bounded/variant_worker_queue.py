# passes: `limit` workers pull indices from a queue instead of a semaphore guarding every task
"""Bounded fan-out with a fixed pool of workers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def bounded_gather(factories: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(factories)):
        queue.put_nowait(index)
    results: list[T] = [None] * len(factories)  # type: ignore[list-item]

    async def worker() -> None:
        while not queue.empty():
            index = queue.get_nowait()
            results[index] = await factories[index]()

    async with asyncio.TaskGroup() as group:
        for _ in range(min(limit, len(factories))):
            group.create_task(worker())
    return results
