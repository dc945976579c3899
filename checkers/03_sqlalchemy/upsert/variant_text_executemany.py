# passes: text() SQL with bound parameters, sent as one executemany
"""Upsert with hand-written SQL: every value a bound parameter, all rows in one executemany."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

UPSERT = text(
    """
    INSERT INTO products (sku, name, price_cents)
    VALUES (:sku, :name, :price_cents)
    ON CONFLICT (sku) DO UPDATE
    SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents, updated_at = now()
    """
)


async def upsert_products(session: AsyncSession, rows: list[dict]) -> None:
    if not rows:
        return
    params = [
        {"sku": r["sku"], "name": r["name"], "price_cents": r["price_cents"]}
        for r in sorted(rows, key=lambda r: r["sku"])  # same lock order in every session
    ]
    await session.execute(UPSERT, params)
