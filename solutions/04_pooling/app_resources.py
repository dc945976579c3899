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
    if min(rps, hold_seconds, minimum, max_connections, reserved) < 0:
        raise ValueError("inputs must not be negative")
    if safety < 1 or instances < 1:
        raise ValueError("safety and instances must be at least 1")
    cap = (max_connections - reserved) // instances
    if cap < 1:
        raise ValueError("no connection left per instance")
    return min(max(math.ceil(rps * hold_seconds * safety - 1e-9), minimum), cap)


class UpstreamClient:
    """A JSON client for one upstream, with one pooled session for its whole life."""

    def __init__(
        self, base_url: str, *, limit: int = 100, limit_per_host: int = 20, timeout: float = 10.0
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._limit, self._limit_per_host, self._timeout = limit, limit_per_host, timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> UpstreamClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._limit, limit_per_host=self._limit_per_host),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            raise_for_status=True,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def get_json(self, path: str) -> Any:
        assert self._session is not None, "use `async with UpstreamClient(...)`"
        async with self._session.get(self._base_url + path) as response:
            return await response.json()

    async def get_many(self, paths: Sequence[str]) -> list[Any]:
        return list(await asyncio.gather(*(self.get_json(path) for path in paths)))


def create_app(database_url: str, upstream_url: str) -> FastAPI:
    """The quote service: one engine and one upstream client for the app's whole life."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool_size = recommend_pool_size(200, 0.05)
        engine = create_async_engine(database_url, pool_size=pool_size, max_overflow=5, pool_pre_ping=True)
        try:
            async with UpstreamClient(upstream_url, timeout=UPSTREAM_TIMEOUT) as upstream:
                app.state.engine, app.state.upstream = engine, upstream
                yield
        finally:
            await engine.dispose()  # closes every pooled connection: no backend outlives the app

    app = FastAPI(lifespan=lifespan)

    @app.get("/quote/{sku}")
    async def quote_price(sku: str, request: Request, currency: str = "EUR") -> dict[str, Any]:
        # The connection goes back to the pool before the upstream call: no backend held while waiting.
        async with request.app.state.engine.connect() as conn:
            price = await conn.scalar(select(Product.price_cents).where(Product.sku == sku))
        if price is None:
            raise HTTPException(status_code=404, detail=f"unknown sku {sku!r}")
        try:
            data = await request.app.state.upstream.get_json(f"/rates/{quote(currency, safe='')}")
            rate = float(data["rate"])
        except (aiohttp.ClientError, TimeoutError, KeyError, TypeError, ValueError) as exc:
            raise HTTPException(status_code=502, detail="the rates service failed") from exc
        return {
            "sku": sku,
            "currency": currency,
            "price_cents": price,
            "rate": rate,
            "converted_cents": round(price * rate),
        }

    return app
