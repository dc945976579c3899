# must fail: test_the_whole_call_takes_about_one_timeout
"""Starts every job at once, then awaits them one by one with a fresh timeout each: the timeouts add up."""

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

    async def call(job: Callable[[], Awaitable[T]]) -> T:
        return await job()

    async with asyncio.TaskGroup() as group:
        tasks = {name: group.create_task(call(job)) for name, job in jobs.items()}
        for name, task in tasks.items():
            try:
                results[name] = await asyncio.wait_for(task, timeout)
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                errors[name] = exc
    return results, errors
