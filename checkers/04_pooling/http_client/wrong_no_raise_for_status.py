# must fail: test_an_error_status_raises_client_response_error
"""No raise_for_status: an error answer with a JSON body is returned as if it were a result."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aiohttp


class UpstreamClient:
    """A JSON client for one upstream, with one pooled session for its whole life."""

    def __init__(
        self, base_url: str, *, limit: int = 100, limit_per_host: int = 20, timeout: float = 10.0
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> UpstreamClient:
        # Made here, inside the running loop: a session belongs to the loop it was created in.
        connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=self._limit_per_host)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._timeout),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get_json(self, path: str) -> Any:
        if self._session is None:
            raise RuntimeError("use the client inside `async with UpstreamClient(...) as client:`")
        async with self._session.get(self._base_url + path) as response:
            return await response.json(content_type=None)

    async def get_many(self, paths: Sequence[str]) -> list[Any]:
        return list(await asyncio.gather(*(self.get_json(path) for path in paths)))
