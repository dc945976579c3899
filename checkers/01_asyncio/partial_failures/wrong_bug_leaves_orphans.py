# must fail: test_a_bug_cancels_the_jobs_still_running
"""Tasks created outside a group and gathered: a bug propagates, but the other jobs keep running, unowned."""

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

    async def run(name: str, job: Callable[[], Awaitable[T]]) -> None:
        try:
            async with asyncio.timeout(timeout):
                results[name] = await job()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            errors[name] = exc

    tasks = [asyncio.create_task(run(name, job)) for name, job in jobs.items()]
    try:
        await asyncio.gather(*tasks)
    except Exception as bug:
        raise ExceptionGroup("a job failed with a bug", [bug]) from None
    return results, errors
