"""The users app rewritten: other names, other order, Core statements; the same behaviour over HTTP."""

from __future__ import annotations

import uuid as _uuid
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import delete as sql_delete
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from course.shop import User as Account

router = APIRouter()


class Person(BaseModel):
    id: _uuid.UUID
    email: str
    name: str
    created_at: datetime


class NewPerson(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    email: EmailStr


COLUMNS = (Account.id, Account.email, Account.name, Account.created_at)


def as_json(row) -> dict:  # noqa: ANN001
    return Person.model_validate(dict(row._mapping)).model_dump(mode="json")


@router.delete("/users/{ident}")
async def remove(ident: _uuid.UUID, request: Request) -> Response:
    async with request.app.state.db.begin() as conn:
        gone = await conn.execute(sql_delete(Account).where(Account.id == ident).returning(Account.id))
        if gone.first() is None:
            return JSONResponse({"detail": "user not found"}, status_code=404)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users")
async def listing(request: Request, limit: Annotated[int, Query(ge=1, le=100)] = 50) -> list[dict]:
    async with request.app.state.db.connect() as conn:
        rows = await conn.execute(select(*COLUMNS).order_by(Account.email.asc()).limit(limit))
        return [as_json(r) for r in rows]


@router.get("/users/{ident}")
async def one(ident: _uuid.UUID, request: Request) -> JSONResponse:
    async with request.app.state.db.connect() as conn:
        row = (await conn.execute(select(*COLUMNS).where(Account.id == ident))).first()
    if row is None:
        return JSONResponse({"detail": "user not found"}, status_code=404)
    return JSONResponse(as_json(row))


@router.post("/users")
async def add(payload: NewPerson, request: Request) -> JSONResponse:
    try:
        async with request.app.state.db.begin() as conn:
            row = (
                await conn.execute(
                    insert(Account)
                    .values(id=_uuid.uuid4(), email=payload.email, name=payload.name)
                    .returning(*COLUMNS)
                )
            ).one()
    except IntegrityError:
        return JSONResponse({"detail": "email already registered"}, status_code=409)
    return JSONResponse(as_json(row), status_code=201)


def create_app(engine: AsyncEngine) -> FastAPI:
    @asynccontextmanager
    async def startup(app: FastAPI):  # noqa: ANN202
        app.state.db = engine
        yield
        del app.state.db

    app = FastAPI(lifespan=startup)
    app.include_router(router)
    return app
