# passes: loop.run_in_executor on its own ThreadPoolExecutor instead of asyncio.to_thread
"""Offloading with an explicit thread pool, one worker per password."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


async def hash_all(passwords: list[str], hash_fn: Callable[[str], str]) -> list[str]:
    if not passwords:
        return []
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=len(passwords), thread_name_prefix="hash")
    try:
        futures = [loop.run_in_executor(executor, hash_fn, p) for p in passwords]
        return list(await asyncio.gather(*futures))
    finally:
        executor.shutdown(wait=False)  # waiting here would block the loop; the calls end by themselves
