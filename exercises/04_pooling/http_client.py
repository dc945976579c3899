"""HTTP pools: one ClientSession, a bounded connector and a total timeout for every call to an upstream.

`UpstreamClient(base_url, *, limit=100, limit_per_host=20, timeout=10.0)` is used as `async with
UpstreamClient(...) as client:`. For its whole life it keeps ONE `aiohttp.ClientSession` whose
`TCPConnector` opens at most `limit` connections (and `limit_per_host` per host) and reuses them
(keep-alive); the session is closed when the block ends.
- `await client.get_json(path)` GETs `base_url + path` (path starts with "/") and returns the decoded JSON;
  a 4xx/5xx answer raises `aiohttp.ClientResponseError`, whatever the body; a call that takes more than
  `timeout` seconds in total raises `TimeoutError`.
- `await client.get_many(paths)` fetches them all concurrently (the connector is what bounds them) and
  returns the results in input order.

Read: notebooks/04_pooling/03_http_pools.ipynb, "One session, one connector".
Check: course check pooling/http_client
"""

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
        # TODO: your code here
        raise NotImplementedError

    async def __aenter__(self) -> UpstreamClient:
        # Made here, inside the running loop: a session belongs to the loop it was created in.
        # TODO: your code here
        raise NotImplementedError

    async def __aexit__(self, *exc: object) -> None:
        # TODO: your code here
        raise NotImplementedError

    async def get_json(self, path: str) -> Any:
        # TODO: your code here
        raise NotImplementedError

    async def get_many(self, paths: Sequence[str]) -> list[Any]:
        # TODO: your code here
        raise NotImplementedError
