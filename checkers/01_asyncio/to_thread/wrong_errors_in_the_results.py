# must fail: test_an_exception_from_hash_fn_propagates
"""gather(return_exceptions=True): a failed hash comes back as an exception object among the hashes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def hash_all(passwords: list[str], hash_fn: Callable[[str], str]) -> list[str]:
    return list(await asyncio.gather(*(asyncio.to_thread(hash_fn, p) for p in passwords), return_exceptions=True))
