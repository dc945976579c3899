"""Keep the loop responsive: hash passwords with a blocking function, off the event loop.

`hash_fn(password)` blocks (CPU work or I/O) for a while. Call it once per password in worker threads, all
of them concurrently, and return the hashes in input order (not the order the calls finish). While they run
the event loop must stay free to serve other tasks. If a call raises, let the exception propagate (alone or
in an ExceptionGroup): it must never end up in the results. An empty list gives [].

Read: notebooks/01_asyncio/03_limiting_and_offloading.ipynb, "Offloading blocking work".
Check: course check asyncio/to_thread
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def hash_all(passwords: list[str], hash_fn: Callable[[str], str]) -> list[str]:
    # TODO: your code here
    raise NotImplementedError
