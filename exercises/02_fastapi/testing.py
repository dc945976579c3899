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


def test_users_app() -> None:
    """Replace this with your fixtures and tests."""
    # TODO: your code here
    raise NotImplementedError
