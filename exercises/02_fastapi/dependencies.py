"""Dependencies and the transaction boundary: a users API whose success status follows a successful COMMIT.

`create_app(engine)` serves `POST /users` (201, 409 for a taken email), `GET /users/{user_id}` (200, 404,
422 for a malformed id) and `POST /users/bulk` (up to 100 users: 201 with all of them, or 409 and none kept).
`get_db(request)` yields one `AsyncSession` per request on the app's engine and commits it, or rolls it back
on error, BEFORE the response is sent: a COMMIT that fails (a deferred unique constraint) must answer 409,
never 201. `DbSession` is the annotated alias; `UserService(session)` (`create`, `get`, `create_many`) only
flushes; `get_user_service` builds it from `DbSession`, so `app.dependency_overrides[get_db]` reaches every
route. Every connection goes back to the pool after every response.

Read: notebooks/02_fastapi/02_dependencies_and_transactions.ipynb, "Commit before the response".
Check: course check fastapi/dependencies
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from course.shop import User


class UserIn(BaseModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=100)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    created_at: datetime


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; committed (or rolled back) before the response, with scope="function"."""
    # TODO: your code here
    raise NotImplementedError


DbSession = Annotated[AsyncSession, Depends(get_db)]  # TODO: when does get_db's teardown run?


class UserService:
    """Users in the request's session: flushes to learn of conflicts early, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        # TODO: your code here
        raise NotImplementedError

    async def create(self, email: str, name: str) -> User:
        # TODO: your code here
        raise NotImplementedError

    async def get(self, user_id: uuid.UUID) -> User | None:
        # TODO: your code here
        raise NotImplementedError

    async def create_many(self, items: Sequence[Any]) -> list[User]:
        # TODO: your code here
        raise NotImplementedError


class _Item:
    def __init__(self, email: str, name: str) -> None:
        self.email, self.name = email, name


def get_user_service(session: DbSession) -> UserService:
    # TODO: your code here
    raise NotImplementedError


Users = Annotated[UserService, Depends(get_user_service)]


def create_app(engine: AsyncEngine) -> FastAPI:
    # TODO: your code here
    raise NotImplementedError
