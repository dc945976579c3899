# must fail: test_the_status_change_is_committed_before_the_response
"""Mistake: the classic `get_db` commits after `yield` in the default scope, i.e. after the response was sent."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from course.shop import AuditEvent, Order

logger = logging.getLogger("app.audit")


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        try:
            yield session
            await session.commit()
        except Exception:
            await session.rollback()
            raise


def create_app(engine: AsyncEngine) -> FastAPI:
    app = FastAPI()
    app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def write_audit(order_id: str) -> None:
        try:
            async with app.state.sessions.begin() as session:
                session.add(AuditEvent(entity="order", entity_id=order_id, action="cancelled"))
        except Exception:
            logger.exception("audit failed")

    @app.post("/orders/{order_id}/cancel", status_code=202)
    async def cancel(
        order_id: uuid.UUID, background: BackgroundTasks, session: Annotated[AsyncSession, Depends(get_db)]
    ) -> dict:
        order = await session.get(Order, order_id)
        if order is None:
            raise HTTPException(404)
        if order.status != "pending":
            raise HTTPException(409)
        order.status = "cancelled"
        background.add_task(write_audit, str(order_id))
        return {"id": str(order_id), "status": "cancelled"}

    return app
