# must fail: test_new_orders_while_paging_cause_no_duplicate_or_skip
"""Offset pagination behind a signed cursor: every order that arrives meanwhile shifts the pages."""

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
    offset = int(unsign(after)) if after is not None else 0
    stmt = select(Order).order_by(Order.created_at.desc(), Order.id.desc()).offset(offset).limit(limit + 1)
    rows = list((await session.scalars(stmt)).all())
    return rows[:limit], sign(offset + limit) if len(rows) > limit else None
