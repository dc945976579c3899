# must fail: test_every_job_that_finishes_within_the_timeout_is_kept
"""except* around the TaskGroup instead of inside each job: the first expected failure has already cancelled
every other job by the time it is caught."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def gather_partial(
    jobs: Mapping[str, Callable[[], Awaitable[T]]], timeout: float
) -> tuple[dict[str, T], dict[str, BaseException]]:
    results: dict[str, T] = {}
    errors: dict[str, BaseException] = {}
    tasks: dict[str, asyncio.Task] = {}

    async def timed(job: Callable[[], Awaitable[T]]) -> T:
        async with asyncio.timeout(timeout):
            return await job()

    try:
        async with asyncio.TaskGroup() as group:
            for name, job in jobs.items():
                tasks[name] = group.create_task(timed(job))
    except* (TimeoutError, OSError, asyncpg.PostgresError):
        pass  # recorded below, task by task
    for name, task in tasks.items():
        if task.cancelled():
            errors[name] = asyncio.CancelledError()
        elif task.exception() is not None:
            errors[name] = task.exception()  # type: ignore[assignment]
        else:
            results[name] = task.result()
    return results, errors
