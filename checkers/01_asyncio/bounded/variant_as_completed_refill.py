# passes: keeps a set of running tasks topped up to `limit` with asyncio.wait(FIRST_COMPLETED)
"""Bounded fan-out without a semaphore: start `limit` tasks, start another each time one finishes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def bounded_gather(factories: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    if limit < 1:
        raise ValueError(f"limit must be >= 1, not {limit}")
    results: dict[int, T] = {}
    pending: dict[asyncio.Task, int] = {}
    queue = list(enumerate(factories))[::-1]

    async def call(factory: Callable[[], Awaitable[T]]) -> T:
        return await factory()

    try:
        while queue or pending:
            while queue and len(pending) < limit:
                index, factory = queue.pop()
                pending[asyncio.ensure_future(call(factory))] = index
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                results[pending.pop(task)] = task.result()
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
    return [results[i] for i in range(len(factories))]
