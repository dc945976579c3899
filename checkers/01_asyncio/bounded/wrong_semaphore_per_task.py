# must fail: test_never_more_than_limit_in_flight
"""A semaphore that limits nothing: each task makes its own, so every task gets in at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def bounded_gather(factories: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    if limit < 1:
        raise ValueError("limit must be at least 1")

    async def run(factory: Callable[[], Awaitable[T]]) -> T:
        async with asyncio.Semaphore(limit):
            return await factory()

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(run(f)) for f in factories]
    return [t.result() for t in tasks]
