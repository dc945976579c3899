# must fail: test_the_event_loop_stays_responsive
"""Wraps hash_fn in an `async def` and gathers the wrappers: the wrapper still calls hash_fn on the event loop's
thread, so each call blocks the loop, one after another."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def hash_all(passwords: list[str], hash_fn: Callable[[str], str]) -> list[str]:
    async def hash_one(password: str) -> str:
        return hash_fn(password)

    return list(await asyncio.gather(*(hash_one(p) for p in passwords)))
