# passes: expanded OR predicate (created_at < t OR created_at = t AND id < i), "ts|id|hexmac" cursor
"""Keyset with the expanded OR form and a readable cursor carrying a hex HMAC."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Order

KEY = secrets.token_bytes(32)


def _mac(text: str) -> str:
    return hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest()


def _position(cursor: str) -> tuple[datetime, uuid.UUID]:
    body, _, mac = cursor.rpartition("|")
    if not body or not hmac.compare_digest(mac.encode(), _mac(body).encode()):
        raise ValueError("invalid cursor")
    created_at, _, order_id = body.partition("|")
    return datetime.fromisoformat(created_at), uuid.UUID(order_id)


async def orders_page(
    session: AsyncSession, *, limit: int, after: str | None = None
) -> tuple[list[Order], str | None]:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    stmt = select(Order)
    if after is not None:
        created_at, order_id = _position(after)
        stmt = stmt.where(
            or_(Order.created_at < created_at, and_(Order.created_at == created_at, Order.id < order_id))
        )
    stmt = stmt.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit + 1)
    orders = list((await session.scalars(stmt)).all())
    if len(orders) <= limit:
        return orders, None
    last = orders[limit - 1]
    body = f"{last.created_at.isoformat()}|{last.id}"
    return orders[:limit], f"{body}|{_mac(body)}"
