# must fail: test_statement_count_does_not_grow_with_the_data
"""Loads the users, then refreshes each one's orders, each order's items and each item's product: N+1 in three levels."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from course.shop import Order, OrderItem, User


async def users_with_orders(session: AsyncSession, limit: int) -> list[User]:
    users = list(await session.scalars(select(User).order_by(User.email).limit(limit)))
    for user in users:
        await session.refresh(user, attribute_names=["orders"])
        for order in user.orders:
            await session.refresh(order, attribute_names=["items"])
            for item in order.items:
                await session.refresh(item, attribute_names=["product"])
    return users


async def order_with_user(session: AsyncSession, order_id: UUID) -> Order | None:
    return await session.scalar(select(Order).where(Order.id == order_id).options(joinedload(Order.user)))

