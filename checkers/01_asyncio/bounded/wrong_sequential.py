# must fail: test_exactly_limit_in_flight_while_work_remains
"""Awaits one factory after another: never more than one in flight, whatever the limit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def bounded_gather(factories: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return [await factory() for factory in factories]
