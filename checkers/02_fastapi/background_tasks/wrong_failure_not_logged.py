# must fail: test_a_failing_audit_write_is_logged_and_changes_nothing_for_the_client
"""Mistake: the background task does not catch a failing write: the exception escapes to the server, nobody in the app logs it."""

from __future__ import annotations

import logging
import uuid

from fastapi import BackgroundTasks, FastAPI, HTTPException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import AuditEvent, Order

logger = logging.getLogger("app.audit")


def create_app(engine: AsyncEngine) -> FastAPI:
    """The app: cancel an order, audit it in the background."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    app = FastAPI()

    async def write_audit(order_id: str) -> None:
        # Runs after the response: its own session, its own transaction; a failure is ours to log.
        async with sessions.begin() as session:
            session.add(AuditEvent(entity="order", entity_id=order_id, action="cancelled"))

    @app.post("/orders/{order_id}/cancel", status_code=202)
    async def cancel(order_id: uuid.UUID, background: BackgroundTasks) -> dict:
        async with sessions.begin() as session:
            order = await session.scalar(select(Order).where(Order.id == order_id).with_for_update())
            if order is None:
                raise HTTPException(404, "order not found")
            if order.status != "pending":
                raise HTTPException(409, f"order is {order.status}")
            order.status = "cancelled"
        # The block above committed: only now is the change durable.
        background.add_task(write_audit, str(order_id))
        return {"id": str(order_id), "status": "cancelled"}

    return app
