"""Partial failures: keep what worked, record the expected failures, stop everything on a bug.

Run every job of `jobs` concurrently, each under its own `timeout` (seconds), and return `(results, errors)`:
`results` maps the name of each job that finished to its value; `errors` maps the name of each job that
timed out (TimeoutError) or raised OSError or asyncpg.PostgresError to that exception instance. Those
failures are expected: the other jobs go on. Any other exception is a bug: let it propagate as an exception
group and cancel the jobs still running. The whole call takes about `timeout`, not the sum of the jobs.

Read: notebooks/01_asyncio/02_taskgroup_and_timeouts.ipynb, "Exception groups and except*".
Check: course check asyncio/partial_failures
"""

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
            async with asyncio.timeout(timeout):  # entered per job: each gets its own deadline
                results[name] = await job()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:  # expected: record, carry on
            errors[name] = exc
        # anything else escapes the group, which cancels the other jobs and raises an ExceptionGroup

    async with asyncio.TaskGroup() as group:
        for name, job in jobs.items():
            group.create_task(run(name, job))
    return results, errors
