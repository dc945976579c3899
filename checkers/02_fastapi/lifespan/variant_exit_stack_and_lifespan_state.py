# passes: AsyncExitStack in the lifespan, engine also yielded as lifespan state (request.state), no pool_pre_ping, the health probe in a task abandoned (cancelled) at a 3 s deadline


from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

HEALTH_TIMEOUT = 3.0  # seconds: well inside the 5 s the contract allows


_cleanups: set[asyncio.Future[None]] = set()  # cancelled probes still closing their connection


async def _ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def create_app(database_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, AsyncEngine]]:
        async with AsyncExitStack() as stack:
            # No pre-ping: a dead pooled connection fails one health call, which invalidates the pool.
            engine = create_async_engine(database_url, connect_args={"timeout": HEALTH_TIMEOUT})
            stack.push_async_callback(engine.dispose)
            await asyncio.wait_for(_ping(engine), 10)
            app.state.engine = engine
            yield {"engine": engine}  # also in request.state, the lifespan-state way

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        # The probe runs as a task we do not wait for past the deadline: a cancelled probe may take a while
        # to close its connection, and the client should not wait for that cleanup.
        probe = asyncio.ensure_future(_ping(request.state.engine))
        done, _ = await asyncio.wait({probe}, timeout=HEALTH_TIMEOUT)
        if not done:
            probe.cancel()
            _cleanups.add(probe)
            probe.add_done_callback(_cleanups.discard)
            return JSONResponse({"status": "unhealthy", "checks": {"database": "timeout"}}, status_code=503)
        if probe.exception() is not None:
            reason = type(probe.exception()).__name__
            return JSONResponse({"status": "unhealthy", "checks": {"database": reason}}, status_code=503)
        return JSONResponse({"status": "healthy", "checks": {"database": "ok"}})

    return app
