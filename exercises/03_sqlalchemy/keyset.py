"""Keyset pagination of orders, newest first, with opaque signed cursors.

`orders_page(session, limit=..., after=...)` returns `(orders, next_cursor)`: at most `limit` orders ordered
by `created_at` descending then `id` descending, starting right after the order the cursor `after` points
to (`None`: the first page). No OFFSET: the next page starts after the last (created_at, id) seen, so
paging visits every order exactly once even when many orders share a timestamp and new orders arrive
meanwhile. `next_cursor` is None when no order comes after this page (the last page is the one holding the
oldest order: there is no extra empty page), otherwise an opaque string.

A cursor is opaque to the client but must be checked on the way back: a malformed cursor or one whose
content was changed raises ValueError (so the cursor must carry an integrity check, for example an HMAC of
its content with a server-side secret). `limit < 1` raises ValueError.

Read: notebooks/03_sqlalchemy/05_postgres_features_and_pagination.ipynb, "Keyset versus offset".
Check: course check sqlalchemy/keyset
"""

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
    # TODO: your code here
    raise NotImplementedError


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor from `encode_cursor` holds; ValueError if it is malformed or was changed."""
    # TODO: your code here
    raise NotImplementedError


async def orders_page(
    session: AsyncSession, *, limit: int, after: str | None = None
) -> tuple[list[Order], str | None]:
    # TODO: your code here
    raise NotImplementedError
