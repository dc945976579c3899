# passes: row-value comparison in text() with bound parameters, cursor = base64(JSON {"t","i","s"})
"""Keyset in plain SQL: (created_at, id) < (:t, :i), mapped to Order with from_statement."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import datetime

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import DateTime, Uuid

from course.shop import Order

KEY = secrets.token_bytes(32)
FIRST = "SELECT * FROM orders ORDER BY created_at DESC, id DESC LIMIT :n"
NEXT = "SELECT * FROM orders WHERE (created_at, id) < (:t, :i) ORDER BY created_at DESC, id DESC LIMIT :n"


def _sig(t: str, i: str) -> str:
    return hmac.new(KEY, f"{t} {i}".encode(), hashlib.sha256).hexdigest()


def _dump(order: Order) -> str:
    t, i = order.created_at.isoformat(), str(order.id)
    return base64.urlsafe_b64encode(json.dumps({"t": t, "i": i, "s": _sig(t, i)}).encode()).decode()


def _load(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        t, i, s = data["t"], data["i"], data["s"]
        ok = isinstance(s, str) and hmac.compare_digest(s.encode(), _sig(str(t), str(i)).encode())
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError("malformed cursor") from exc
    if not ok:
        raise ValueError("tampered cursor")
    return datetime.fromisoformat(t), uuid.UUID(i)


async def orders_page(
    session: AsyncSession, *, limit: int, after: str | None = None
) -> tuple[list[Order], str | None]:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if after is None:
        stmt = text(FIRST).bindparams(n=limit + 1)
    else:
        t, i = _load(after)
        stmt = text(NEXT).bindparams(
            bindparam("t", t, type_=DateTime(timezone=True)), bindparam("i", i, type_=Uuid), n=limit + 1
        )
    orders = list((await session.scalars(select(Order).from_statement(stmt))).all())
    return orders[:limit], _dump(orders[limit - 1]) if len(orders) > limit else None
