"""A small users API, the app under test in exercise fastapi/testing.

`create_app(engine)`: `POST /users` `{"email", "name"}` 201 `{"id", "email", "name", "created_at"}`, 409 for a
taken email, 422 for an empty name or a bad email; `GET /users/{id}` 200 or 404; `GET /users?limit=N`
(1 to 100, default 50) a JSON list ordered by email; `DELETE /users/{id}` 204 or 404. The lifespan builds
the session factory, so a test client must run it.

The checker swaps this app for altered copies: when the environment variable COURSE_USERS_APP names a
Python file, `create_app` is that file's `create_app`. Tests import `from course.apps.users import
create_app` and never need to know.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from course.shop import User


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    name: str = Field(min_length=1, max_length=100)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    email: str
    name: str
    created_at: datetime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


def create_app(engine: AsyncEngine) -> FastAPI:
    """The users app on `engine`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
        yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/users", status_code=201, response_model=UserOut)
    async def create_user(body: UserCreate, session: Session) -> User:
        user = User(email=body.email, name=body.name)
        session.add(user)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            raise HTTPException(409, "email already registered") from None
        await session.refresh(user)
        return user

    @app.get("/users/{user_id}", response_model=UserOut)
    async def get_user(user_id: uuid.UUID, session: Session) -> User:
        user = await session.get(User, user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        return user

    @app.get("/users", response_model=list[UserOut])
    async def list_users(session: Session, limit: Annotated[int, Query(ge=1, le=100)] = 50) -> list[User]:
        return list(await session.scalars(select(User).order_by(User.email).limit(limit)))

    @app.delete("/users/{user_id}", status_code=204)
    async def delete_user(user_id: uuid.UUID, session: Session) -> Response:
        user = await session.get(User, user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        await session.delete(user)
        await session.commit()
        return Response(status_code=204)

    return app


def _swapped_in(path: str):  # noqa: ANN202 - returns the other file's create_app
    spec = importlib.util.spec_from_file_location("course_apps_users_under_test", path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module.create_app


if __name__ == "course.apps.users" and os.environ.get("COURSE_USERS_APP"):  # not in the copy itself
    create_app = _swapped_in(os.environ["COURSE_USERS_APP"])  # noqa: F811 - the checker's altered copy
