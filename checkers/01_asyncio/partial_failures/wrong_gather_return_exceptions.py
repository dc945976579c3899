# must fail: test_a_bug_propagates_as_an_exception_group
"""gather(return_exceptions=True) turns every exception into a value: a bug is recorded like a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def gather_partial(
    jobs: Mapping[str, Callable[[], Awaitable[T]]], timeout: float
) -> tuple[dict[str, T], dict[str, BaseException]]:
    async def timed(job: Callable[[], Awaitable[T]]) -> T:
        async with asyncio.timeout(timeout):
            return await job()

    outcomes = await asyncio.gather(*(timed(job) for job in jobs.values()), return_exceptions=True)
    results: dict[str, T] = {}
    errors: dict[str, BaseException] = {}
    for name, outcome in zip(jobs, outcomes):
        if isinstance(outcome, BaseException):
            errors[name] = outcome
        else:
            results[name] = outcome
    return results, errors
