# passes: an AsyncExitStack owns the session, asyncio.timeout per call, explicit raise_for_status, a semaphore
"""Same contract, another style: resources registered on an AsyncExitStack, the total timeout enforced with
asyncio.timeout around each call, a semaphore in front of the bounded connector, raise_for_status() by hand."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import aiohttp


class UpstreamClient:
    def __init__(
        self, base_url: str, *, limit: int = 100, limit_per_host: int = 20, timeout: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.limit, self.limit_per_host, self.timeout = limit, limit_per_host, timeout
        self._stack = contextlib.AsyncExitStack()
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None

    async def __aenter__(self) -> UpstreamClient:
        connector = aiohttp.TCPConnector(limit=self.limit, limit_per_host=self.limit_per_host)
        self._session = await self._stack.enter_async_context(aiohttp.ClientSession(connector=connector))
        self._slots = asyncio.Semaphore(min(self.limit, self.limit_per_host))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def get_json(self, path: str) -> Any:
        assert self._session is not None and self._slots is not None, "use `async with`"
        async with asyncio.timeout(self.timeout):
            async with self._slots, self._session.get(self.base_url + path) as response:
                response.raise_for_status()
                return await response.json()

    async def get_many(self, paths: Sequence[str]) -> list[Any]:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(self.get_json(p)) for p in paths]
        return [t.result() for t in tasks]
