# must fail: test_an_unknown_sku_raises_lookup_error_and_saves_nothing
"""Commits the order first, then each item as it goes: a later failure leaves a partial order behind."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Order, OrderItem, Product


async def place_order(engine: AsyncEngine, user_id: UUID, items: list[tuple[str, int]]) -> Order:
    if not items or any(quantity < 1 for _, quantity in items):
        raise ValueError("bad items")
    skus = {sku for sku, _ in items}
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        products = {p.sku: p for p in await session.scalars(select(Product).where(Product.sku.in_(skus)))}
        order = Order(user_id=user_id, total_cents=0, items=[])
        session.add(order)
        await session.commit()
        for sku, quantity in items:
            product = products.get(sku)
            if product is None:
                raise LookupError(sku)
            order.items.append(OrderItem(product=product, quantity=quantity, unit_price_cents=product.price_cents))
            order.total_cents += quantity * product.price_cents
            await session.commit()
    return order
