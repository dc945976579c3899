# must fail: test_a_job_that_outlives_the_timeout_is_recorded_as_timeout_error
"""asyncio.wait(timeout=...) only stops waiting: the jobs it gave up on are recorded but keep running."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def gather_partial(
    jobs: Mapping[str, Callable[[], Awaitable[T]]], timeout: float
) -> tuple[dict[str, T], dict[str, BaseException]]:
    async def call(job: Callable[[], Awaitable[T]]) -> T:
        return await job()

    tasks = {name: asyncio.create_task(call(job)) for name, job in jobs.items()}
    results: dict[str, T] = {}
    errors: dict[str, BaseException] = {}
    if not tasks:
        return results, errors
    _, pending = await asyncio.wait(tasks.values(), timeout=timeout)
    bugs: list[Exception] = []
    for name, task in tasks.items():
        if task in pending:
            errors[name] = TimeoutError(f"{name} took longer than {timeout} s")
        elif isinstance(task.exception(), (OSError, asyncpg.PostgresError)):
            errors[name] = task.exception()  # type: ignore[assignment]
        elif task.exception() is not None:
            bugs.append(task.exception())  # type: ignore[arg-type]
        else:
            results[name] = task.result()
    if bugs:
        raise ExceptionGroup("jobs failed with bugs", bugs)
    return results, errors
