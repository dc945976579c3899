"""An app that owns its pools: one engine and one HTTP client, opened at startup, closed at shutdown.

`create_app(database_url, upstream_url)` returns a FastAPI app (`database_url` is an SQLAlchemy URL,
`postgresql+asyncpg://...`). Its lifespan creates, once for the app's life:
- one `AsyncEngine` with `pool_size=recommend_pool_size(200, 0.05)` (its defaults otherwise) and a
  `max_overflow` of at most `pool_size`;
- one `UpstreamClient(upstream_url, timeout=0.5)` (its default limits otherwise);
and closes both at shutdown (`await engine.dispose()`, leave the client's `async with`).

`GET /quote/{sku}?currency=EUR` (EUR when absent) reads the product's `price_cents` from Postgres and the
rate from the upstream (`GET /rates/{currency}` answers `{"rate": <float>}`), and answers 200 with exactly
`{"sku", "currency", "price_cents", "rate", "converted_cents"}`, `converted_cents` being `price_cents x rate`
rounded to the nearest cent; 404 for an unknown sku; 502 when the upstream answers an error status or
does not answer within the client's timeout.

The server process loads this file alone: define `recommend_pool_size` and `UpstreamClient` here (copy
yours from pooling/engine and pooling/http_client), do not import them from your other exercise files.

Read: notebooks/04_pooling/02_sizing_lab.ipynb, "One engine, one client, one lifespan".
Check: course check pooling/app_resources
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import aiohttp
from fastapi import FastAPI, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from course.shop import Product

UPSTREAM_TIMEOUT = 0.5


def recommend_pool_size(
    rps: float,
    hold_seconds: float,
    *,
    safety: float = 2.0,
    minimum: int = 5,
    instances: int = 1,
    max_connections: int = 100,
    reserved: int = 10,
) -> int:
    """Connections one instance's pool should hold (Little's law with a safety factor, capped)."""
    # TODO: your code here
    raise NotImplementedError


class UpstreamClient:
    """A JSON client for one upstream, with one pooled session for its whole life."""

    def __init__(
        self, base_url: str, *, limit: int = 100, limit_per_host: int = 20, timeout: float = 10.0
    ) -> None:
        # TODO: your code here
        raise NotImplementedError

    async def __aenter__(self) -> UpstreamClient:
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


def create_app(database_url: str, upstream_url: str) -> FastAPI:
    """The quote service: one engine and one upstream client for the app's whole life."""
    # TODO: your code here
    raise NotImplementedError
