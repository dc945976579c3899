# passes: joinedload down the whole chain (one statement: SQLAlchemy wraps the LIMITed users in a subquery), session.get for one order
"""One JOINed statement for the whole graph; joinedload applies LIMIT to the users in a subquery, not to the rows."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from course.shop import Order, OrderItem, User


async def users_with_orders(session: AsyncSession, limit: int) -> list[User]:
    statement = (
        select(User)
        .options(joinedload(User.orders).joinedload(Order.items).joinedload(OrderItem.product))
        .order_by(User.email)
        .limit(limit)
    )
    result = await session.execute(statement)
    return list(result.unique().scalars())


async def order_with_user(session: AsyncSession, order_id: UUID) -> Order | None:
    return await session.get(Order, order_id, options=[joinedload(Order.user, innerjoin=True)])
