# must fail: test_health_is_503_while_the_database_refuses_and_200_when_back
"""Once /health saw the database down it answers 503 until a restart."""


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
            async with engine.connect() as conn:  # fail fast: never serve without a database
                await conn.execute(text("SELECT 1"))
            app.state.engine = engine
            yield
        finally:
            await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        if getattr(request.app.state, "broken", False):  # do not hammer a database that is down
            return JSONResponse({"status": "unhealthy", "checks": {"database": "down"}}, status_code=503)
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (Exception, TimeoutError) as exc:  # any failure is "unhealthy", with a short reason
            reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            request.app.state.broken = True
            return JSONResponse({"status": "unhealthy", "checks": {"database": reason}}, status_code=503)
        return JSONResponse({"status": "healthy", "checks": {"database": "ok"}})

    return app
