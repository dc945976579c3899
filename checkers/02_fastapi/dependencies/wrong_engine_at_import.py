# must fail: test_each_request_uses_the_engine_it_was_given
"""A module-level engine made at import from DATABASE_URL; the engine handed to create_app is ignored."""


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

import os
from sqlalchemy.ext.asyncio import create_async_engine

ENGINE = create_async_engine(os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://", 1))
SessionLocal = async_sessionmaker(ENGINE, expire_on_commit=False)


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
    async with SessionLocal() as session:
        try:
            yield session
            await session.commit()
        except IntegrityError as exc:
            await session.rollback()
            raise HTTPException(409, "email already registered") from exc
        except BaseException:
            await session.rollback()
            raise


DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]


class UserService:
    """Users in the request's session: flushes to learn of conflicts early, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, email: str, name: str) -> User:
        return (await self.create_many([_Item(email, name)]))[0]

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def create_many(self, items: Sequence[Any]) -> list[User]:
        users = [User(email=item.email, name=item.name) for item in items]
        self.session.add_all(users)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise HTTPException(409, "email already registered") from exc
        for user in users:  # created_at comes from the server default
            await self.session.refresh(user)
        return users


class _Item:
    def __init__(self, email: str, name: str) -> None:
        self.email, self.name = email, name


def get_user_service(session: DbSession) -> UserService:
    return UserService(session)


Users = Annotated[UserService, Depends(get_user_service)]


def create_app(engine: AsyncEngine) -> FastAPI:
    app = FastAPI()
    app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

    @app.post("/users", status_code=201, response_model=UserOut)
    async def create_user(body: UserIn, users: Users) -> User:
        return await users.create(body.email, body.name)

    @app.post("/users/bulk", status_code=201, response_model=list[UserOut])
    async def create_users(body: Annotated[list[UserIn], Field(max_length=100)], users: Users) -> list[User]:
        return await users.create_many(body)

    @app.get("/users/{user_id}", response_model=UserOut)
    async def read_user(user_id: uuid.UUID, users: Users) -> User:
        user = await users.get(user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        return user

    return app
