# passes: each job's wrapper sorts failures with except*, and the results come from the tasks after the group
"""Partial failures with except* in each job's wrapper."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import asyncpg

T = TypeVar("T")

EXPECTED = (OSError, asyncpg.PostgresError)  # TimeoutError is an OSError


async def gather_partial(
    jobs: Mapping[str, Callable[[], Awaitable[T]]], timeout: float
) -> tuple[dict[str, T], dict[str, BaseException]]:
    errors: dict[str, BaseException] = {}

    async def run(name: str, job: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
        try:
            async with asyncio.timeout(timeout):
                return True, await job()
        except* EXPECTED as group:
            errors[name] = group.exceptions[0]  # a lone exception comes wrapped in a group of one
        return False, None

    async with asyncio.TaskGroup() as group:
        tasks = {name: group.create_task(run(name, job)) for name, job in jobs.items()}
    results = {name: task.result()[1] for name, task in tasks.items() if task.result()[0]}
    return results, errors  # type: ignore[return-value]
