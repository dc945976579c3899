# must fail: test_a_bug_propagates_as_an_exception_group
"""Catches Exception in each job: a bug is swallowed and recorded as if it were an expected failure."""

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
        except Exception as exc:
            errors[name] = exc

    async with asyncio.TaskGroup() as group:
        for name, job in jobs.items():
            group.create_task(run(name, job))
    return results, errors
