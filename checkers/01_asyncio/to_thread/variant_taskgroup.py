# passes: one TaskGroup task per password, results read from the tasks in input order
"""Offloading with asyncio.to_thread inside a TaskGroup."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def hash_all(passwords: list[str], hash_fn: Callable[[str], str]) -> list[str]:
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(asyncio.to_thread(hash_fn, p)) for p in passwords]
    return [task.result() for task in tasks]
