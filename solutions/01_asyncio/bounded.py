"""Bounded fan-out: await every factory with at most `limit` in flight.

Start a new one as soon as one finishes (no fixed batches), so that while work remains exactly `limit` run
at once. Results come back in input order. If one fails, cancel the rest and let the failure propagate.
`limit < 1` raises ValueError. Two calls with different limits may run at the same time.

Read: notebooks/01_asyncio/03_limiting_and_offloading.ipynb, "Limiting fan-out".
Check: course check asyncio/bounded
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def bounded_gather(factories: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    semaphore = asyncio.Semaphore(limit)  # per call: another call may use another limit

    async def run(factory: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await factory()  # called only once a slot is free

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(run(factory)) for factory in factories]
    return [task.result() for task in tasks]
