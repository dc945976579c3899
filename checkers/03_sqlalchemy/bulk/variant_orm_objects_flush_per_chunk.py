# passes: ORM objects added per chunk with one flush per chunk (batched by insertmanyvalues); COPY from a generator
"""Bulk insert through the unit of work: one flush per chunk, which SQLAlchemy batches into one INSERT."""

from __future__ import annotations

from itertools import islice

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def bulk_insert_products(session: AsyncSession, rows: list[dict], chunk_size: int = 1000) -> int:
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    iterator = iter(rows)
    count = 0
    while chunk := list(islice(iterator, chunk_size)):
        objects = [Product(**row) for row in chunk]
        session.add_all(objects)
        await session.flush()  # one batched INSERT ... RETURNING for the chunk
        for obj in objects:  # keep the identity map small: these objects are not needed afterwards
            session.expunge(obj)
        count += len(chunk)
    return count


async def copy_products(conn: asyncpg.Connection, rows: list[tuple[str, str, int]]) -> int:
    await conn.copy_records_to_table(
        "products", records=(tuple(r) for r in rows), columns=("sku", "name", "price_cents")
    )
    return len(rows)
