# must fail: test_two_apps_share_nothing
"""Engines kept in a module-level dict and reused by every app made with the same URL."""


from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

HEALTH_TIMEOUT = 3.0  # seconds: well inside the 5 s the contract allows


_engines: dict[str, AsyncEngine] = {}  # one engine per URL, reused by every app


def create_app(database_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if database_url not in _engines:
            _engines[database_url] = create_async_engine(
                database_url, pool_pre_ping=True, connect_args={"timeout": HEALTH_TIMEOUT}
            )
        engine = _engines[database_url]
        try:
            async with engine.connect() as conn:  # fail fast: never serve without a database
                await conn.execute(text("SELECT 1"))
            app.state.engine = engine
            yield
        finally:
            await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (Exception, TimeoutError) as exc:  # any failure is "unhealthy", with a short reason
            reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            return JSONResponse({"status": "unhealthy", "checks": {"database": reason}}, status_code=503)
        return JSONResponse({"status": "healthy", "checks": {"database": "ok"}})

    return app
