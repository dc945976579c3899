# must fail: test_bad_quantities_and_empty_orders_raise_value_error_before_any_write
"""Writes first and validates the quantities afterwards: the rollback saves the data, but the writes already ran."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Order, OrderItem, Product


async def place_order(engine: AsyncEngine, user_id: UUID, items: list[tuple[str, int]]) -> Order:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        skus = {sku for sku, _ in items}
        products = {p.sku: p for p in await session.scalars(select(Product).where(Product.sku.in_(skus)))}
        if skus - products.keys():
            raise LookupError(skus - products.keys())
        order = Order(
            user_id=user_id,
            total_cents=sum(products[s].price_cents * q for s, q in items),
            items=[OrderItem(product=products[s], quantity=q, unit_price_cents=products[s].price_cents) for s, q in items],
        )
        session.add(order)
        await session.flush()
        if not items or any(q < 1 for _, q in items):
            raise ValueError("bad items")
    return order
