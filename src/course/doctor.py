"""`course doctor`: everything that would stop the course, each with what to do about it."""

from __future__ import annotations

import asyncio
import shutil
import sys

from rich.console import Console

from course import db as dbmod
from course import manifest
from course.errors import CourseError


def run(out: Console) -> bool:
    ok = True

    def line(good: bool, what: str, fix: str = "") -> None:
        nonlocal ok
        ok &= good
        out.print(
            ("[green]✓[/] " if good else "[red]✗[/] ")
            + what
            + ("" if good or not fix else f"\n    fix: {fix}")
        )

    line(sys.version_info >= (3, 11), f"Python {sys.version.split()[0]}", "install Python 3.11 or newer")
    try:
        course = manifest.load()
        line(True, f"course.toml: {len(course.exercises)} exercises in {len(course.modules)} modules")
        missing = [ex.id for ex in course.exercises if not (ex.stub.exists() and ex.checker.exists())]
        line(not missing, "every exercise has its file and checker", f"restore {missing} (course reset ID)")
    except CourseError as exc:
        line(False, exc.message, exc.next_step)
    try:
        server = dbmod.resolve()
        version = asyncio.run(dbmod.check_reachable(server))
        line(True, f"database reachable: {server.describe()}")
        line(version >= dbmod.MIN_SERVER_VERSION, f"PostgreSQL {version // 10000}")
        line(*asyncio.run(_permissions(server)))
    except CourseError as exc:
        line(False, exc.message, exc.next_step)
    line(shutil.which("git") is not None, "git installed (course reset falls back to it)", "install git")
    out.print("Next: " + ("course next" if ok else "fix the first ✗ above, then `course doctor` again"))
    return ok


async def _permissions(server: dbmod.Server) -> tuple[bool, str, str]:
    import asyncpg

    conn = await asyncpg.connect(server.admin_url)
    try:
        row = await conn.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
    finally:
        await conn.close()
    good = bool(row["rolsuper"] or (row["rolcreatedb"] and row["rolcreaterole"]))
    return (
        good,
        "the database role may create databases and roles",
        "use a role WITH CREATEDB CREATEROLE in DATABASE_URL",
    )
