# must fail: test_results_come_back_in_input_order
"""Collects results as they complete: the order of finishing, not the order of the input."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def bounded_gather(factories: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    semaphore = asyncio.Semaphore(limit)
    results: list[T] = []

    async def run(factory: Callable[[], Awaitable[T]]) -> None:
        async with semaphore:
            results.append(await factory())

    async with asyncio.TaskGroup() as group:
        for f in factories:
            group.create_task(run(f))
    return results
