# passes: plain functions with asyncio.run, no pytest plugin; a context manager gives the client and cleans up
"""Variant: no async test plugin: each test is a plain function running its scenario with asyncio.run."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from course.apps.users import create_app


@asynccontextmanager
async def app_client() -> AsyncIterator[tuple[httpx.AsyncClient, Callable[[], httpx.AsyncClient]]]:
    """A client on a fresh app (lifespan run); also a factory for a second app on the same engine."""
    engine = create_async_engine(os.environ["DATABASE_URL"])
    try:
        async with LifespanManager(create_app(engine)) as manager:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://t"
            ) as c:
                yield c, engine
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM users"))
        await engine.dispose()


def run(scenario: Callable[[httpx.AsyncClient, object], Awaitable[None]]) -> None:
    async def main() -> None:
        async with app_client() as (client, engine):
            await scenario(client, engine)

    asyncio.run(main())


async def post(client: httpx.AsyncClient, email: str, name: str = "N") -> httpx.Response:
    return await client.post("/users", json={"email": email, "name": name})


def test_create_get_and_unknown() -> None:
    async def scenario(client, _engine) -> None:
        r = await post(client, "zed@example.com", "Zed")
        assert r.status_code == 201
        body = r.json()
        assert set(body) == {"id", "email", "name", "created_at"} and body["name"] == "Zed"
        got = await client.get(f"/users/{body['id']}")
        assert got.status_code == 200 and got.json() == body
        missing = await client.get(f"/users/{uuid.uuid4()}")
        assert missing.status_code == 404

    run(scenario)


def test_conflict_and_validation() -> None:
    async def scenario(client, _engine) -> None:
        assert (await post(client, "zed@example.com")).status_code == 201
        assert (await post(client, "zed@example.com")).status_code == 409
        assert (await post(client, "amy@example.com", "")).status_code == 422
        assert (await post(client, "amy-at-example.com")).status_code == 422
        emails = [u["email"] for u in (await client.get("/users")).json()]
        assert emails == ["zed@example.com"]

    run(scenario)


def test_listing() -> None:
    async def scenario(client, _engine) -> None:
        for e in ("m@example.com", "b@example.com", "x@example.com", "a@example.com"):
            assert (await post(client, e)).status_code == 201
        listed = (await client.get("/users", params={"limit": 3})).json()
        assert [u["email"] for u in listed] == ["a@example.com", "b@example.com", "m@example.com"]
        assert len((await client.get("/users")).json()) == 4

    run(scenario)


def test_delete_is_durable() -> None:
    async def scenario(client, engine) -> None:
        user = (await post(client, "d@example.com")).json()
        assert (await client.delete(f"/users/{user['id']}")).status_code == 204
        async with engine.connect() as conn:  # another connection sees only committed rows
            left = await conn.scalar(text("SELECT count(*) FROM users"))
        assert left == 0
        assert (await client.delete(f"/users/{user['id']}")).status_code == 404

    run(scenario)
