# must fail: test_hostile_values_are_matched_as_plain_values
"""Bound parameters, but the array literal is built by joining strings: a tag with a comma or brace breaks."""

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
        literal = "{" + ",".join(tags) + "}"
        stmt = stmt.where(sql_text("tags @> CAST(:tags AS varchar[])").bindparams(tags=literal))
    if attributes:
        stmt = stmt.where(Product.attributes.contains(dict(attributes)))
    stmt = stmt.order_by(Product.name, Product.id).limit(limit)
    return list((await session.scalars(stmt)).all())
