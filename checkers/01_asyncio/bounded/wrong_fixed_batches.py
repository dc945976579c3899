# must fail: test_exactly_limit_in_flight_while_work_remains
"""Runs the factories in batches of `limit`: the next batch waits for the slowest of the previous one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def bounded_gather(factories: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    results: list[T] = []
    for start in range(0, len(factories), limit):
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(f()) for f in factories[start : start + limit]]
        results.extend(t.result() for t in tasks)
    return results
