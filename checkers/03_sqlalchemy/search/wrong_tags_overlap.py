# must fail: test_every_tag_must_be_present
"""Tags matched with overlap (&&): a product carrying any one of the tags passes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def search_products(
    session: AsyncSession,
    *,
    text: str | None = None,
    tags: Sequence[str] = (),
    attributes: Mapping[str, str] | None = None,
    limit: int = 20,
) -> list[Product]:
    stmt = select(Product)
    if text is not None:
        document = func.to_tsvector("english", Product.name + " " + Product.description)
        stmt = stmt.where(document.op("@@")(func.plainto_tsquery("english", text)))
    if tags:
        stmt = stmt.where(Product.tags.overlap(list(tags)))
    if attributes:
        stmt = stmt.where(Product.attributes.contains(dict(attributes)))
    stmt = stmt.order_by(Product.name, Product.id).limit(limit)
    return list((await session.scalars(stmt)).all())
