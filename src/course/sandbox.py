"""A database and a role per check, cloned from a prepared template, and the learner's own lab database.

Every course database has `CONNECT` revoked from PUBLIC, so a role reaches its own database only. Check
databases and roles are named `course_chk_<pid>_<epoch>_<random>`: a sweep at the start of each check drops
those whose grader died (same machine) or that are older than any time limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

TEMPLATE_PREFIX = "course_template_"
# Owns the shop tables in the template, and so in every clone; each check's role is made a member, so it
# may read, write and alter them (and, say, make a constraint deferrable) without a change of owner.
SHOP_OWNER = "course_shop_owner"
_SHOP_SOURCE = Path(__file__).with_name("shop.py")
CHECK_PREFIX = "course_chk_"
CHECK_LIKE = r"course\_chk\_%"  # LIKE pattern: `_` alone would match any character
LAB_NAME = "course_lab"
STALE_AFTER_S = 15 * 60
# What the checker opens itself (observer, its pools) + asyncpg's default pool size (10) + slack.
CONNECTION_LIMIT = 60
STATEMENT_TIMEOUT = "60s"


@dataclass(frozen=True)
class Sandbox:
    """One check's database and role. `url` is all the submission learns."""

    name: str
    url: str


def url_for(admin_url: str, *, user: str, password: str, database: str) -> str:
    """The admin URL with another user, password and database (host, port and options kept)."""
    parts = urlsplit(admin_url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(
        (parts.scheme, f"{quote(user)}:{quote(password)}@{host}", f"/{database}", parts.query, "")
    )


def _ident(name: str) -> str:
    assert name.replace("_", "").isalnum(), name  # our own generated names only
    return f'"{name}"'


def _is_local(admin_url: str) -> bool:
    parts = urlsplit(admin_url)
    host = parts.hostname or ""
    return host in ("", "localhost", "127.0.0.1", "::1") or "host=/" in parts.query


def _stale(name: str, *, local: bool, now: float) -> bool:
    try:
        pid_s, epoch_s, _ = name[len(CHECK_PREFIX) :].split("_", 2)
        pid, epoch = int(pid_s), int(epoch_s)
    except ValueError:
        return True
    if now - epoch > STALE_AFTER_S:
        return True
    if local and pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    return False


async def sweep(admin: asyncpg.Connection, admin_url: str, *, everything: bool = False) -> list[str]:
    """Drop check databases and roles left by a grader that died. Returns the names dropped."""
    names = {
        r[0]
        for r in await admin.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1 UNION SELECT rolname FROM pg_roles WHERE rolname LIKE $1",
            CHECK_LIKE,
        )
    }
    local, now = _is_local(admin_url), time.time()
    dropped = [n for n in sorted(names) if everything or _stale(n, local=local, now=now)]
    for name in dropped:
        await drop(admin, name)
    return dropped


@contextlib.asynccontextmanager
async def _parameter_acl_lock(admin: asyncpg.Connection) -> AsyncIterator[None]:
    """Graders granting or revoking on one parameter at once fail with "tuple concurrently updated"."""
    async with admin.transaction():
        await admin.execute("SELECT pg_advisory_xact_lock(hashtext('course parameter acl'))")
        yield


async def drop(admin: asyncpg.Connection, name: str) -> None:
    """Drop a check's database and role, ending its sessions first (also those that lifted their timeouts)."""
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 OR datname = $1", name
    )
    await admin.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")
    if await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name):
        # Revokes what was granted on shared objects (the deadlock_timeout parameter), or DROP ROLE refuses.
        async with _parameter_acl_lock(admin):
            await admin.execute(f"DROP OWNED BY {_ident(name)}")
        await admin.execute(f"DROP ROLE {_ident(name)}")


READY = "course template: ready"


def template_name() -> str:
    """One template per version of the shop domain, so two versions of the course never fight over it."""
    return TEMPLATE_PREFIX + hashlib.sha256(_SHOP_SOURCE.read_bytes()).hexdigest()[:12]


async def ensure_template(admin: asyncpg.Connection, admin_url: str) -> str:
    """Create, if missing, the template every check database is cloned from; return its name."""
    name = template_name()
    query = "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1"
    if await admin.fetchval(query, name) == READY:
        return name
    # Two graders may find it missing at once: build it under a lock, then look again.
    await admin.execute("SELECT pg_advisory_lock(hashtext($1))", name)
    try:
        if await admin.fetchval(query, name) != READY:
            await _build_template(admin, admin_url, name)
    finally:
        await admin.execute("SELECT pg_advisory_unlock(hashtext($1))", name)
    return name


async def _build_template(admin: asyncpg.Connection, admin_url: str, name: str) -> None:
    await admin.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")
    if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", SHOP_OWNER):
        await admin.execute(f"CREATE ROLE {SHOP_OWNER} NOLOGIN")
    # A CREATEROLE (non-superuser) admin must be a member to create tables as that role.
    await admin.execute(f"GRANT {SHOP_OWNER} TO CURRENT_USER")
    await admin.execute(f"CREATE DATABASE {_ident(name)}")
    await admin.execute(f"REVOKE CONNECT ON DATABASE {_ident(name)} FROM PUBLIC")
    from course import shop  # SQLAlchemy is imported only when the template is (re)built

    conn = await asyncpg.connect(url_with_database(admin_url, name))
    try:
        await conn.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {SHOP_OWNER}")
        await conn.execute(f"SET ROLE {SHOP_OWNER}")
        async with conn.transaction():
            for statement in shop.ddl():
                await conn.execute(statement)
    finally:
        await conn.close()  # nobody may stay connected to a template
    await admin.execute(f"COMMENT ON DATABASE {_ident(name)} IS '{READY}'")


def url_with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


async def create(admin: asyncpg.Connection, admin_url: str, template: str) -> Sandbox:
    """A fresh non-superuser role owning a fresh database cloned from the template."""
    name = f"{CHECK_PREFIX}{os.getpid()}_{int(time.time())}_{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(18)
    ident = _ident(name)
    await admin.execute(
        f"CREATE ROLE {ident} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
        f"CONNECTION LIMIT {CONNECTION_LIMIT} PASSWORD '{password}'"
    )
    try:
        await admin.execute(f"ALTER ROLE {ident} SET statement_timeout = '{STATEMENT_TIMEOUT}'")
        await admin.execute(f"GRANT {SHOP_OWNER} TO {ident}")
        if admin.get_server_version().major >= 15:  # lets checks show a deadlock in 0.1 s, not 1 s
            async with _parameter_acl_lock(admin):
                await admin.execute(f"GRANT SET ON PARAMETER deadlock_timeout TO {ident}")
        await admin.execute(f"CREATE DATABASE {ident} TEMPLATE {_ident(template)} OWNER {ident}")
        await admin.execute(f"REVOKE CONNECT ON DATABASE {ident} FROM PUBLIC")
        await admin.execute(f"GRANT CONNECT ON DATABASE {ident} TO {ident}")
    except BaseException:
        await drop(admin, name)
        raise
    return Sandbox(name=name, url=url_for(admin_url, user=name, password=password, database=name))


async def ensure_lab(admin: asyncpg.Connection, admin_url: str, password: str, template: str) -> str:
    """The learner's own database for notebook demos: role and database `course_lab`. Returns its URL."""
    exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", LAB_NAME)
    verb = "ALTER" if exists else "CREATE"
    await admin.execute(
        f"{verb} ROLE {LAB_NAME} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}'"
    )
    await admin.execute(f"GRANT {SHOP_OWNER} TO {LAB_NAME}")
    if admin.get_server_version().major >= 15:  # the deadlock demo shows in 0.1 s, not 1 s
        async with _parameter_acl_lock(admin):
            await admin.execute(f"GRANT SET ON PARAMETER deadlock_timeout TO {LAB_NAME}")
    cloned_from = await admin.fetchval(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", LAB_NAME
    )
    if cloned_from != template:  # missing, or made from an older shop schema: demo data is disposable
        await admin.execute(f"DROP DATABASE IF EXISTS {LAB_NAME} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {LAB_NAME} TEMPLATE {_ident(template)} OWNER {LAB_NAME}")
        await admin.execute(f"REVOKE CONNECT ON DATABASE {LAB_NAME} FROM PUBLIC")
        await admin.execute(f"GRANT CONNECT ON DATABASE {LAB_NAME} TO {LAB_NAME}")
        await admin.execute(f"COMMENT ON DATABASE {LAB_NAME} IS '{template}'")
    return url_for(admin_url, user=LAB_NAME, password=password, database=LAB_NAME)


async def drop_lab_and_templates(admin: asyncpg.Connection) -> None:
    """For `course db reset`: the lab database and role, and every template (they are rebuilt on demand)."""
    await admin.execute(f"DROP DATABASE IF EXISTS {LAB_NAME} WITH (FORCE)")
    await admin.execute(f"DROP ROLE IF EXISTS {LAB_NAME}")
    for row in await admin.fetch(
        "SELECT datname FROM pg_database WHERE datname LIKE 'course\\_template\\_%'"
    ):
        await admin.execute(f"DROP DATABASE IF EXISTS {_ident(row[0])} WITH (FORCE)")


async def terminate_backends(admin: asyncpg.Connection, name: str) -> int:
    """End every session of a check's role: the deadline must hold even if it ran `SET statement_timeout = 0`."""
    return len(
        await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 OR datname = $1", name
        )
    )


async def leftovers(admin: asyncpg.Connection, pid: int | None = None) -> dict[str, int]:
    """How many check databases, roles and sessions exist now (of one grader process, if `pid` is given)."""
    like = CHECK_LIKE if pid is None else CHECK_LIKE.replace("%", f"{pid}\\_%")
    row = await admin.fetchrow(
        """SELECT (SELECT count(*) FROM pg_database WHERE datname LIKE $1) AS databases,
                  (SELECT count(*) FROM pg_roles WHERE rolname LIKE $1) AS roles,
                  (SELECT count(*) FROM pg_stat_activity WHERE usename LIKE $1) AS connections""",
        like,
    )
    return dict(row)
