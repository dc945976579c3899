# must fail: test_health_answers_within_5_s_while_the_database_hangs
"""/health has no timeout of its own: while the database hangs, the client waits as long as it is willing to."""


from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

# Seconds for one health check. After a timeout SQLAlchemy still gives the broken asyncpg connection up to 2 s
# to close, so 1.5 s keeps the whole answer (about 3.5 s at worst) inside the 5 s the contract allows.
HEALTH_TIMEOUT = 1.5


def create_app(database_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # pool_pre_ping notices connections the server closed; connect_args bounds a connection attempt.
        engine = create_async_engine(database_url, pool_pre_ping=True)
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
            async with request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (Exception, TimeoutError) as exc:  # any failure is "unhealthy", with a short reason
            reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            return JSONResponse({"status": "unhealthy", "checks": {"database": reason}}, status_code=503)
        return JSONResponse({"status": "healthy", "checks": {"database": "ok"}})

    return app
