# passes: select() for every read, allowed names from the table's columns, a dict of pk -> instance in get_many
"""Reads written as explicit select() statements; update() checks names against model.__table__.columns."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import User

T = TypeVar("T")


class AsyncRepository(Generic[T]):
    def __init__(self, session: AsyncSession, model: type[T]) -> None:
        self.session = session
        self.model = model
        table = model.__table__  # type: ignore[attr-defined]
        self.pk = table.primary_key.columns[0]
        self.allowed = frozenset(table.columns.keys())

    async def get(self, id: Any) -> T | None:
        result = await self.session.execute(select(self.model).where(self.pk == id))
        return result.scalar_one_or_none()

    async def get_many(self, ids: Iterable[Any]) -> builtins.list[T]:
        wanted = builtins.list(dict.fromkeys(ids))
        if len(wanted) == 0:
            return []
        result = await self.session.execute(select(self.model).where(self.pk.in_(wanted)))
        return builtins.list(result.scalars())

    async def list(self, *, offset: int = 0, limit: int = 100) -> builtins.list[T]:
        result = await self.session.execute(
            select(self.model).order_by(self.pk.asc()).limit(limit).offset(offset)
        )
        return builtins.list(result.scalars())

    async def create(self, **values: Any) -> T:
        instance = self.model(**values)
        self.session.add(instance)
        await self.session.flush([instance])
        return instance

    async def update(self, instance: T, **values: Any) -> None:
        if not values.keys() <= self.allowed:
            raise ValueError(f"cannot set {sorted(values.keys() - self.allowed)} on {self.model.__name__}")
        for key, value in values.items():
            setattr(instance, key, value)
        await self.session.flush([instance])

    async def delete(self, instance: T) -> None:
        await self.session.delete(instance)
        await self.session.flush([instance])


class UserRepository(AsyncRepository[User]):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, User)

    async def get_by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == email).limit(1))
        return result.scalar_one_or_none()
