# must fail: test_health_is_503_while_the_database_refuses_and_200_when_back
"""/health does not catch the database error: a 500 instead of a 503 with a reason."""


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
        async with asyncio.timeout(HEALTH_TIMEOUT), request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "healthy", "checks": {"database": "ok"}})

    return app
