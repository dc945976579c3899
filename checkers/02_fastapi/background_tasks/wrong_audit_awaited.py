# must fail: test_a_slow_audit_write_does_not_delay_the_response
"""Mistake: the audit is written in its own session, but awaited before the response is returned."""

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
        try:
            async with sessions.begin() as session:
                session.add(AuditEvent(entity="order", entity_id=order_id, action="cancelled"))
        except Exception:
            logger.exception("audit event for order %s was not written", order_id)

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
        await write_audit(str(order_id))
        return {"id": str(order_id), "status": "cancelled"}

    return app
