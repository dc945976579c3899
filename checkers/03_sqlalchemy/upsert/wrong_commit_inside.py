# must fail: test_does_not_commit_so_a_rollback_by_the_caller_undoes_it
"""A correct upsert followed by a commit inside the function: the caller cannot roll it back."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def upsert_products(session: AsyncSession, rows: list[dict]) -> None:
    if not rows:
        return
    stmt = insert(Product).values(sorted(rows, key=lambda r: r["sku"]))
    stmt = stmt.on_conflict_do_update(
        index_elements=[Product.sku],
        set_={"name": stmt.excluded.name, "price_cents": stmt.excluded.price_cents, "updated_at": func.now()},
    )
    await session.execute(stmt)
    await session.commit()
