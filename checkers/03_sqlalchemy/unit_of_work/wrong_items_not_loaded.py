# must fail: test_the_returned_order_is_readable_after_the_session_is_closed
"""Inserts the items with a Core insert keyed on order.id: they are saved, but the returned order.items is not loaded."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Order, OrderItem, Product


async def place_order(engine: AsyncEngine, user_id: UUID, items: list[tuple[str, int]]) -> Order:
    if not items or any(quantity < 1 for _, quantity in items):
        raise ValueError("bad items")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        skus = {sku for sku, _ in items}
        products = {p.sku: p for p in await session.scalars(select(Product).where(Product.sku.in_(skus)))}
        if skus - products.keys():
            raise LookupError(skus - products.keys())
        order = Order(user_id=user_id, total_cents=sum(products[s].price_cents * q for s, q in items))
        session.add(order)
        await session.flush()
        await session.execute(
            insert(OrderItem),
            [
                {"order_id": order.id, "product_id": products[s].id, "quantity": q, "unit_price_cents": products[s].price_cents}
                for s, q in items
            ],
        )
    return order
