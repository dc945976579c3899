"""Unit of work: place an order, with its items, in one transaction.

`place_order(engine, user_id, items)` creates an `Order` for `user_id` with one `OrderItem` per
`(sku, quantity)` pair of `items` (a repeated sku gives two items), each at the product's current
`price_cents`, and `total_cents` the sum of quantity x price. Everything happens in one transaction:
- no items, or a quantity below 1: `ValueError`, before anything is sent to the database;
- an unknown sku: `LookupError`; in both cases nothing is persisted.
Fetch the products in one query, whatever the number of items. Return the order with its items loaded:
the caller reads it after your session is closed.

Read: notebooks/03_sqlalchemy/03_writing_well.ipynb, "The unit of work".
Check: course check sqlalchemy/unit_of_work
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Order, OrderItem, Product


async def place_order(engine: AsyncEngine, user_id: UUID, items: list[tuple[str, int]]) -> Order:
    # TODO: your code here
    raise NotImplementedError
