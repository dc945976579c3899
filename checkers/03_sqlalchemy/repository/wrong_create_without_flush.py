# must fail: test_create_flushes_and_sets_the_primary_key
"""create() only adds the instance to the session: nothing is flushed, so the primary key is still None on return."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Base, User

T = TypeVar("T", bound=Base)


class AsyncRepository(Generic[T]):
    def __init__(self, session: AsyncSession, model: type[T]) -> None:
        self.session = session
        self.model = model
        mapper = inspect(model)
        self._columns = {attr.key for attr in mapper.column_attrs}
        (self._pk,) = mapper.primary_key  # the shop's models have single-column primary keys

    async def get(self, id: Any) -> T | None:
        return await self.session.get(self.model, id)

    async def get_many(self, ids: Iterable[Any]) -> list[T]:
        ids = list(ids)
        if not ids:
            return []
        return list(await self.session.scalars(select(self.model).where(self._pk.in_(ids))))

    async def list(self, *, offset: int = 0, limit: int = 100) -> Sequence[T]:
        statement = select(self.model).order_by(self._pk).offset(offset).limit(limit)
        return list(await self.session.scalars(statement))

    async def create(self, **values: Any) -> T:
        self._only_columns(values)
        instance = self.model(**values)
        self.session.add(instance)
        return instance

    async def update(self, instance: T, **values: Any) -> T:
        self._only_columns(values)
        for name, value in values.items():
            setattr(instance, name, value)
        await self.session.flush()
        return instance

    async def delete(self, instance: T) -> None:
        await self.session.delete(instance)
        await self.session.flush()

    def _only_columns(self, values: dict[str, Any]) -> None:
        unknown = sorted(set(values) - self._columns)
        if unknown:
            raise ValueError(f"not columns of {self.model.__name__}: {', '.join(unknown)}")


class UserRepository(AsyncRepository[User]):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, User)

    async def get_by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == email))
