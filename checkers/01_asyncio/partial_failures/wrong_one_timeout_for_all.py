# must fail: test_a_job_that_outlives_the_timeout_is_recorded_as_timeout_error
"""One timeout around the whole group: when it fires, the whole call raises TimeoutError and every result
(those of the jobs that had finished included) is lost."""

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
            results[name] = await job()
        except (OSError, asyncpg.PostgresError) as exc:
            errors[name] = exc

    async with asyncio.timeout(timeout):
        async with asyncio.TaskGroup() as group:
            for name, job in jobs.items():
                group.create_task(run(name, job))
    return results, errors
