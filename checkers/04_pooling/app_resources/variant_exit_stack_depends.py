# passes: AsyncExitStack lifespan, Depends-injected AsyncSession and client, max_overflow=0, Decimal rounding
"""Same contract in another style: resources registered on an AsyncExitStack, handed to the handler by
dependencies; ORM session; converted_cents rounded half-up with Decimal."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any
from urllib.parse import quote

import aiohttp
from fastapi import Depends, FastAPI, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

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


# Module level: with `from __future__ import annotations` FastAPI resolves the handler's annotations in the
# module's globals, where a function local to create_app is not found.
async def session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as s:
        yield s


def upstream(request: Request) -> UpstreamClient:
    return request.app.state.upstream


def create_app(database_url: str, upstream_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            engine = create_async_engine(
                database_url, pool_size=recommend_pool_size(200, 0.05), max_overflow=0
            )
            stack.push_async_callback(engine.dispose)
            app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
            app.state.upstream = await stack.enter_async_context(
                UpstreamClient(upstream_url, timeout=UPSTREAM_TIMEOUT)
            )
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/quote/{sku}")
    async def get_quote(
        sku: str,
        db: Annotated[AsyncSession, Depends(session)],
        rates: Annotated[UpstreamClient, Depends(upstream)],
        currency: str = "EUR",
    ) -> dict[str, Any]:
        product = (await db.execute(select(Product).where(Product.sku == sku))).scalar_one_or_none()
        if product is None:
            raise HTTPException(404, "no such product")
        price = product.price_cents
        await db.close()  # give the connection back before waiting on the upstream
        try:
            rate = (await rates.get_json("/rates/" + quote(currency, safe="")))["rate"]
        except (aiohttp.ClientResponseError, aiohttp.ClientError, TimeoutError) as exc:
            raise HTTPException(502, "rates unavailable") from exc
        converted = (Decimal(price) * Decimal(str(rate))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return {
            "sku": sku,
            "currency": currency,
            "price_cents": price,
            "rate": rate,
            "converted_cents": int(converted),
        }

    return app
