"""One throwaway PostgreSQL for the whole run (embedded, in a temp dir), unless DATABASE_URL names one.

It starts in the xdist controller before the workers, so they inherit DATABASE_URL; it is stopped and
deleted at the end. The suite never touches the learner's `.course/` database.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_started: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _started
    if hasattr(config, "workerinput") or os.environ.get("DATABASE_URL"):
        return
    from course import db

    folder = Path(tempfile.mkdtemp(prefix="course-test-db-"))
    os.chmod(folder, 0o755)
    server = db.start_embedded(folder / "pgdata")
    os.environ["DATABASE_URL"] = server.admin_url
    _started = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    if _started is not None:
        from course import db

        db.stop_embedded(_started / "pgdata")
        shutil.rmtree(_started, ignore_errors=True)


@pytest.fixture(scope="session")
def admin_url() -> str:
    return os.environ["DATABASE_URL"]


def leftovers(admin_url: str, pid: int | None = None) -> dict[str, int]:
    """Check databases, roles and sessions on the server now (of grader `pid` only, if given)."""
    import asyncpg

    from course import sandbox

    async def go() -> dict[str, int]:
        conn = await asyncpg.connect(admin_url)
        try:
            return await sandbox.leftovers(conn, pid)
        finally:
            await conn.close()

    return asyncio.run(go())
