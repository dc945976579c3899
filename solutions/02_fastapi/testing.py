"""Testing a FastAPI app: a pytest module for `course.apps.users.create_app(engine)`.

The app: `POST /users` `{"email", "name"}` 201 `{"id", "email", "name", "created_at"}`, 409 for a taken
email, 422 for an empty name or a bad email; `GET /users/{id}` 200 or 404; `GET /users?limit=N` (1 to 100,
default 50) a JSON list ordered by email; `DELETE /users/{id}` 204 or 404. Its lifespan builds the session
factory, so your client must run it (asgi-lifespan's LifespanManager around httpx.ASGITransport).

Write tests (pytest with anyio's plugin, or plain `asyncio.run`) against the database whose SQLAlchemy URL
is in the environment variable DATABASE_URL (its tables exist and are empty). Import the app with
`from course.apps.users import create_app`. Leave no rows behind. The checker runs your tests against the
app (all must pass), against broken copies of it (each must make a test fail) and against a rewritten but
equivalent copy (all must pass): judge behaviour, never the app's code.

Read: notebooks/02_fastapi/06_testing_fastapi_apps.ipynb, "Fixtures: a client with the lifespan".
Check: course check fastapi/testing
"""

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
    async with engine.begin() as conn:  # leave the table as we found it: empty
        await conn.execute(delete(User))
    await engine.dispose()


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
