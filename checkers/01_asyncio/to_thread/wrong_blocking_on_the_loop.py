# must fail: test_the_event_loop_stays_responsive
"""Calls hash_fn directly inside the coroutine: every call blocks the event loop for as long as it lasts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def hash_all(passwords: list[str], hash_fn: Callable[[str], str]) -> list[str]:
    return [hash_fn(password) for password in passwords]
