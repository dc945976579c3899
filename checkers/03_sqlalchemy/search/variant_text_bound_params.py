# passes: text() SQL with named bound parameters, mapped back to Product with from_statement
"""Plain SQL in text(), every value a bound parameter (arrays and JSON passed as typed parameters)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from sqlalchemy import bindparam, select
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from course.shop import Product

SQL = """
SELECT * FROM products
WHERE (CAST(:text AS text) IS NULL
       OR to_tsvector('english', name || ' ' || description) @@ plainto_tsquery('english', :text))
  AND tags @> :tags
  AND attributes @> CAST(:attributes AS jsonb)
ORDER BY name, id
LIMIT :limit
"""


async def search_products(
    session: AsyncSession,
    *,
    text: str | None = None,
    tags: Sequence[str] = (),
    attributes: Mapping[str, str] | None = None,
    limit: int = 20,
) -> list[Product]:
    stmt = sql_text(SQL).bindparams(
        bindparam("text", text, type_=String),
        bindparam("tags", list(tags), type_=ARRAY(String)),
        bindparam("attributes", json.dumps(dict(attributes or {})), type_=String),
        bindparam("limit", limit),
    )
    return list((await session.scalars(select(Product).from_statement(stmt))).all())

