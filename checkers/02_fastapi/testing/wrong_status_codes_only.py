# must fail: test_your_tests_catch_every_broken_copy_of_the_app
"""Mistake: the tests check status codes only: never the bodies, the order, the limit or what the database kept."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import create_async_engine

from course.apps.users import create_app
from course.shop import User

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    engine = create_async_engine(os.environ["DATABASE_URL"])
    async with LifespanManager(create_app(engine)) as manager:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as client:
            yield client
    async with engine.begin() as conn:
        await conn.execute(delete(User))
    await engine.dispose()


async def test_create(client: httpx.AsyncClient) -> None:
    assert (await client.post("/users", json={"email": "a@example.com", "name": "A"})).status_code == 201


async def test_duplicate(client: httpx.AsyncClient) -> None:
    await client.post("/users", json={"email": "a@example.com", "name": "A"})
    assert (await client.post("/users", json={"email": "a@example.com", "name": "A"})).status_code == 409


async def test_invalid(client: httpx.AsyncClient) -> None:
    assert (await client.post("/users", json={"email": "a@example.com", "name": ""})).status_code == 422
    assert (await client.post("/users", json={"email": "nope", "name": "A"})).status_code == 422


async def test_get_and_list(client: httpx.AsyncClient) -> None:
    created = (await client.post("/users", json={"email": "a@example.com", "name": "A"})).json()
    assert (await client.get(f"/users/{created['id']}")).status_code == 200
    assert (await client.get(f"/users/{uuid.uuid4()}")).status_code == 404
    assert (await client.get("/users", params={"limit": 1})).status_code == 200


async def test_delete(client: httpx.AsyncClient) -> None:
    created = (await client.post("/users", json={"email": "a@example.com", "name": "A"})).json()
    assert (await client.delete(f"/users/{created['id']}")).status_code == 204
    assert (await client.delete(f"/users/{uuid.uuid4()}")).status_code == 404
