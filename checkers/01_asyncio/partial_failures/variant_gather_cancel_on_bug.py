# passes: no TaskGroup: gather over own tasks, cancelling and awaiting them itself when a bug escapes
"""Partial failures with asyncio.gather and hand-written cleanup on a bug."""

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
    except BaseException as exc:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # wait until they are really gone
        if isinstance(exc, Exception):
            raise ExceptionGroup("a job failed with a bug", [exc]) from None
        raise  # our own cancellation goes on as it came
    return results, errors
