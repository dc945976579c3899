"""Running code that starts its own event loop from anywhere, including inside Jupyter's running loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def outside_running_loop(fn: Callable[..., T], *args: Any) -> T:
    """Call `fn(*args)`, which runs a loop of its own; inside a running loop, do it in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()
