"""Upsert: insert new products and update existing ones in one statement, safe under concurrency.

`upsert_products(session, rows)` takes dicts with `sku`, `name` and `price_cents`. A sku not in `products` is
inserted; an existing one gets the new `name` and `price_cents`, and `updated_at` set to now, while its other
columns (description, tags, ...) stay as they are. One `INSERT ... ON CONFLICT (sku) DO UPDATE` statement for
all the rows, no SELECT first: many sessions may upsert the same skus at the same moment, and none of them
may fail. It does not commit: the caller's transaction decides.

Read: notebooks/03_sqlalchemy/03_writing_well.ipynb, "Upserts with ON CONFLICT".
Check: course check sqlalchemy/upsert
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def upsert_products(session: AsyncSession, rows: list[dict]) -> None:
    # TODO: your code here
    raise NotImplementedError
