# must fail: test_calls_run_concurrently
"""Offloads each call to a thread but awaits it before starting the next: the loop stays free, but the calls
run one after another."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def hash_all(passwords: list[str], hash_fn: Callable[[str], str]) -> list[str]:
    return [await asyncio.to_thread(hash_fn, password) for password in passwords]
