# must fail: test_your_tests_pass_against_the_app_and_leave_no_rows
"""Mistake: the engine fixture never cleans up: every user the tests created stays in the database."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from course.apps.users import create_app
from course.shop import User

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(os.environ["DATABASE_URL"])
    yield engine
    await engine.dispose()


@pytest.fixture(autouse=True)
async def start_empty(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:  # clean BEFORE each test, so tests do not see each other's rows
        await conn.execute(delete(User))


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(engine)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def make(client: httpx.AsyncClient, email: str, name: str = "Someone") -> dict:
    response = await client.post("/users", json={"email": email, "name": name})
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_then_get(client: httpx.AsyncClient) -> None:
    created = await make(client, "ada@example.com", "Ada")
    assert created["email"] == "ada@example.com" and created["name"] == "Ada"
    assert uuid.UUID(created["id"]) and created["created_at"]
    response = await client.get(f"/users/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created


async def test_duplicate_email_is_409(client: httpx.AsyncClient) -> None:
    await make(client, "ada@example.com")
    response = await client.post("/users", json={"email": "ada@example.com", "name": "Other"})
    assert response.status_code == 409
    listed = (await client.get("/users")).json()
    assert [u["email"] for u in listed] == ["ada@example.com"]


@pytest.mark.parametrize(
    "payload",
    [{"email": "ada@example.com", "name": ""}, {"email": "not-an-email", "name": "Ada"}, {"name": "Ada"}],
)
async def test_invalid_input_is_422_and_stores_nothing(client: httpx.AsyncClient, payload: dict) -> None:
    response = await client.post("/users", json=payload)
    assert response.status_code == 422
    assert (await client.get("/users")).json() == []


async def test_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/users/{uuid.uuid4()}")
    assert response.status_code == 404


async def test_list_is_ordered_by_email_and_limited(client: httpx.AsyncClient) -> None:
    for email in ("carol@example.com", "ada@example.com", "bob@example.com"):
        await make(client, email)
    everyone = (await client.get("/users")).json()
    assert [u["email"] for u in everyone] == ["ada@example.com", "bob@example.com", "carol@example.com"]
    first_two = (await client.get("/users", params={"limit": 2})).json()
    assert [u["email"] for u in first_two] == ["ada@example.com", "bob@example.com"]
    for bad in (0, 101):
        assert (await client.get("/users", params={"limit": bad})).status_code == 422


async def test_delete_is_204_and_sticks(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    created = await make(client, "ada@example.com")
    response = await client.delete(f"/users/{created['id']}")
    assert response.status_code == 204
    # A fresh app on the same database: only what was committed is visible.
    async with LifespanManager(create_app(engine)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
            assert (await other.get(f"/users/{created['id']}")).status_code == 404
    assert (await client.delete(f"/users/{created['id']}")).status_code == 404


async def test_names_are_kept_as_sent(client: httpx.AsyncClient) -> None:
    created = await make(client, "zoe@example.com", "Zoë O'Neil")
    assert created["name"] == "Zoë O'Neil"
