"""Repository: data access for any model, with the transaction boundary left to the caller.

`AsyncRepository(session, model)` offers:
- `get(id)`: the instance or None;
- `get_many(ids)`: the instances whose primary key is in `ids`, in one query; `[]` without any query when
  `ids` is empty;
- `list(*, offset=0, limit=100)`: a page of instances ordered by primary key;
- `create(**values)`: a new instance, flushed, so its primary key is set on return;
- `update(instance, **values)`: set mapped columns only (any other name raises ValueError and changes
  nothing: no mass assignment), then flush;
- `delete(instance)`: delete it, then flush.
It flushes, never commits: the caller's rollback undoes everything it did.
`UserRepository(session)` is the repository of `User`, with `get_by_email(email)` (the user or None).

Read: notebooks/03_sqlalchemy/03_writing_well.ipynb, "Repositories that never commit".
Check: course check sqlalchemy/repository
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Base, User

T = TypeVar("T", bound=Base)


class AsyncRepository(Generic[T]):
    def __init__(self, session: AsyncSession, model: type[T]) -> None:
        # TODO: your code here
        raise NotImplementedError

    async def get(self, id: Any) -> T | None:
        # TODO: your code here
        raise NotImplementedError

    async def get_many(self, ids: Iterable[Any]) -> list[T]:
        # TODO: your code here
        raise NotImplementedError

    async def list(self, *, offset: int = 0, limit: int = 100) -> Sequence[T]:
        # TODO: your code here
        raise NotImplementedError

    async def create(self, **values: Any) -> T:
        # TODO: your code here
        raise NotImplementedError

    async def update(self, instance: T, **values: Any) -> T:
        # TODO: your code here
        raise NotImplementedError

    async def delete(self, instance: T) -> None:
        # TODO: your code here
        raise NotImplementedError


class UserRepository(AsyncRepository[User]):
    def __init__(self, session: AsyncSession) -> None:
        # TODO: your code here
        raise NotImplementedError

    async def get_by_email(self, email: str) -> User | None:
        # TODO: your code here
        raise NotImplementedError
