# must fail: test_paging_visits_every_order_once_in_order
"""The cursor holds created_at only: orders sharing the last timestamp of a page are skipped."""

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
    stmt = select(Order).order_by(Order.created_at.desc(), Order.id.desc()).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(Order.created_at < datetime.fromisoformat(str(unsign(after))))
    rows = list((await session.scalars(stmt)).all())
    page = rows[:limit]
    return page, sign(page[-1].created_at.isoformat()) if len(rows) > limit else None
