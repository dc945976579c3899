# must fail: test_hashes_come_back_in_input_order
"""Collects the hashes with as_completed: the order the calls finish in, not the order of the input."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def hash_all(passwords: list[str], hash_fn: Callable[[str], str]) -> list[str]:
    hashes = []
    for next_done in asyncio.as_completed([asyncio.to_thread(hash_fn, p) for p in passwords]):
        hashes.append(await next_done)
    return hashes
