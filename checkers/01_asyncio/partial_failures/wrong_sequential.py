# must fail: test_jobs_run_concurrently
"""Awaits one job after another: each has its own timeout, but the call takes the sum of the jobs."""

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
    for name, job in jobs.items():
        try:
            async with asyncio.timeout(timeout):
                results[name] = await job()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            errors[name] = exc
    return results, errors
