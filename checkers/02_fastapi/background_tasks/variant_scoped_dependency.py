# passes: a get_db dependency with scope="function" commits before the response; the audit task runs via Response(background=...)
"""Variant: the transaction lives in a function-scoped dependency; the audit is a BackgroundTask on the response."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.background import BackgroundTask

from course.shop import AuditEvent, Order

log = logging.getLogger(__name__)


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


Db = Annotated[AsyncSession, Depends(get_db, scope="function")]


async def audit(engine: AsyncEngine, order_id: uuid.UUID) -> None:
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(AuditEvent).values(entity="order", entity_id=str(order_id), action="cancelled")
            )
    except Exception as exc:
        log.error("could not audit cancellation of %s: %s", order_id, exc)


def create_app(engine: AsyncEngine) -> FastAPI:
    app = FastAPI()
    app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)

    @app.post("/orders/{order_id}/cancel")
    async def cancel(order_id: uuid.UUID, db: Db) -> JSONResponse:
        changed = await db.scalar(
            update(Order)
            .where(Order.id == order_id, Order.status == "pending")
            .values(status="cancelled")
            .returning(Order.id)
        )
        if changed is None:
            exists = await db.get(Order, order_id)
            raise HTTPException(404 if exists is None else 409)
        return JSONResponse(
            {"id": str(order_id), "status": "cancelled"},
            status_code=202,
            background=BackgroundTask(audit, engine, order_id),
        )

    return app
