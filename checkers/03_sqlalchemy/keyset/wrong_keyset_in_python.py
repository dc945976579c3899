# must fail: test_a_page_reads_only_its_rows_through_the_index
"""Signed keyset cursors, but every page loads all orders and cuts the page in Python."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Order

SECRET = secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(value: object) -> str:
    payload = json.dumps(value).encode()
    return f"{_b64(payload)}.{_b64(hmac.new(SECRET, payload, hashlib.sha256).digest())}"


def unsign(cursor: str) -> object:
    try:
        payload_part, signature_part = cursor.split(".")
        payload, signature = _unb64(payload_part), _unb64(signature_part)
    except (ValueError, TypeError) as exc:
        raise ValueError("malformed cursor") from exc
    if not hmac.compare_digest(signature, hmac.new(SECRET, payload, hashlib.sha256).digest()):
        raise ValueError("invalid cursor")
    return json.loads(payload)


async def orders_page(
    session: AsyncSession, *, limit: int, after: str | None = None
) -> tuple[list[Order], str | None]:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    orders = list((await session.scalars(select(Order).order_by(Order.created_at.desc(), Order.id.desc()))).all())
    if after is not None:
        created_at, order_id = unsign(after)
        position = (datetime.fromisoformat(created_at), uuid.UUID(order_id))
        orders = [o for o in orders if (o.created_at, o.id) < position]
    page = orders[:limit]
    return page, sign([page[-1].created_at.isoformat(), str(page[-1].id)]) if len(orders) > limit else None
