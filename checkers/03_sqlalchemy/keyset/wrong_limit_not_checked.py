# must fail: test_limit_below_one_raises_value_error
"""No check of limit: limit=0 fetches one row and then fails on an empty page (IndexError), -1 is an SQL error."""


from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import uuid
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Order

# In production the secret comes from configuration, shared by every process that serves the API; a random
# one per process is enough here (cursors then only work within the process that made them).
SECRET = os.environ.get("ORDERS_CURSOR_SECRET", "").encode() or secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(created_at: datetime, order_id: uuid.UUID) -> str:
    """An opaque string for the position (created_at, id), with its integrity check."""
    payload = json.dumps([created_at.isoformat(), str(order_id)]).encode()
    signature = hmac.new(SECRET, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor from `encode_cursor` holds; ValueError if it is malformed or was changed."""
    try:
        payload_part, signature_part = cursor.split(".")
        payload, signature = _unb64(payload_part), _unb64(signature_part)
    except (ValueError, TypeError, AttributeError) as exc:  # binascii.Error is a ValueError
        raise ValueError("malformed cursor") from exc
    expected = hmac.new(SECRET, payload, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise ValueError("invalid cursor")
    created_at, order_id = json.loads(payload)  # signed by us: well formed
    return datetime.fromisoformat(created_at), uuid.UUID(order_id)


async def orders_page(
    session: AsyncSession, *, limit: int, after: str | None = None
) -> tuple[list[Order], str | None]:
    stmt = select(Order).order_by(Order.created_at.desc(), Order.id.desc()).limit(limit + 1)
    if after is not None:
        created_at, order_id = decode_cursor(after)
        stmt = stmt.where(tuple_(Order.created_at, Order.id) < tuple_(created_at, order_id))
    rows = list((await session.scalars(stmt)).all())
    page = rows[:limit]
    # One row more than asked tells whether another page exists, without an empty last page.
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return page, next_cursor
