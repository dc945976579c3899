# must fail: test_an_unreachable_database_makes_startup_fail
"""The lifespan creates the engine but never connects: an unreachable database is found by the first request."""


from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

HEALTH_TIMEOUT = 3.0  # seconds: well inside the 5 s the contract allows


def create_app(database_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # pool_pre_ping notices connections the server closed; connect_args bounds a connection attempt.
        engine = create_async_engine(
            database_url, pool_pre_ping=True, pool_timeout=HEALTH_TIMEOUT, connect_args={"timeout": HEALTH_TIMEOUT}
        )
        try:
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
