# passes: selectinload for the collections, joinedload for the item's product (3 statements), Core-style execute + scalars
"""Collections by selectinload, the many-to-one product joined into the items' statement."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from course.shop import Order, OrderItem, User


async def users_with_orders(session: AsyncSession, limit: int) -> list[User]:
    result = await session.execute(
        select(User)
        .options(
            selectinload(User.orders).selectinload(Order.items).joinedload(OrderItem.product, innerjoin=True)
        )
        .order_by(User.email.asc())
        .limit(limit)
    )
    return list(result.scalars().all())


async def order_with_user(session: AsyncSession, order_id: UUID) -> Order | None:
    result = await session.execute(
        select(Order).join(Order.user).where(Order.id == order_id).options(joinedload(Order.user))
    )
    return result.scalars().one_or_none()
