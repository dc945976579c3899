# passes: asyncio.wait_for per job (not asyncio.timeout), outcomes returned by the tasks, not written by them
"""Partial failures with asyncio.wait_for per job inside one TaskGroup."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def gather_partial(
    jobs: Mapping[str, Callable[[], Awaitable[T]]], timeout: float
) -> tuple[dict[str, T], dict[str, BaseException]]:
    async def settle(job: Callable[[], Awaitable[T]]) -> tuple[T | None, BaseException | None]:
        try:
            return await asyncio.wait_for(job(), timeout), None
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            return None, exc

    async with asyncio.TaskGroup() as group:
        tasks = {name: group.create_task(settle(job)) for name, job in jobs.items()}
    results: dict[str, T] = {}
    errors: dict[str, BaseException] = {}
    for name, task in tasks.items():
        value, exc = task.result()
        if exc is None:
            results[name] = value  # type: ignore[assignment]
        else:
            errors[name] = exc
    return results, errors
