"""The learner's own database for notebook demos: a connection, a pool or an engine on `course_lab`.

import course.lab as lab
conn = await lab.connect()
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from course import db as dbmod
from course import sandbox
from course.loops import outside_running_loop

_url: str | None = None


def _password() -> str:
    path = dbmod.state_dir() / "lab.json"
    try:
        return json.loads(path.read_text())["password"]
    except (OSError, ValueError, KeyError):
        password = secrets.token_urlsafe(18)
        path.touch(mode=0o600)
        path.write_text(json.dumps({"password": password}))
        return password


async def prepare(server: dbmod.Server | None = None) -> str:
    """Make sure the template and the lab database exist; return the lab URL."""
    import asyncpg

    server = server or dbmod.resolve()
    await dbmod.check_reachable(server)
    admin = await asyncpg.connect(server.admin_url)
    try:
        template = await sandbox.ensure_template(admin, server.admin_url)
        return await sandbox.ensure_lab(admin, server.admin_url, _password(), template)
    finally:
        await admin.close()


def url() -> str:
    """The lab database's URL (prepared once per process)."""
    global _url
    if _url is None:
        _url = outside_running_loop(asyncio.run, prepare())
    return _url


async def connect(**kwargs: Any):
    """An asyncpg connection to the lab database."""
    import asyncpg

    return await asyncpg.connect(url(), **kwargs)


async def pool(**kwargs: Any):
    """An asyncpg pool on the lab database."""
    import asyncpg

    return await asyncpg.create_pool(url(), **kwargs)


def engine(**kwargs: Any):
    """A SQLAlchemy AsyncEngine on the lab database (asyncpg driver)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(url().replace("postgresql://", "postgresql+asyncpg://", 1), **kwargs)
