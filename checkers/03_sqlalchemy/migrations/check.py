"""Checks for sqlalchemy/migrations: the four revision bodies of `migrations.py`, run by a real Alembic project.

The provided project (./project: alembic.ini, async env.py, 0001 initial, 0002 and 0003 calling the
submission's functions) is copied to a temporary folder and run with `alembic.command` on a connection of the
check's engine (`config.attributes["connection"]`, inside `run_sync`). Each check works in a fresh PostgreSQL
schema of its own (`SET LOCAL search_path`), so `customers` and `alembic_version` never meet the shop tables
in `public`, and inspects columns, indexes and rows from a separate connection after every step.
"""

from __future__ import annotations

import inspect
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import asyncpg

from course.checking import Database, describe, expect, fail, raises

REQUIRES = {
    "upgrade_schema": "def upgrade_schema()",
    "downgrade_schema": "def downgrade_schema()",
    "upgrade_data": "def upgrade_data()",
    "downgrade_data": "def downgrade_data()",
}
PROJECT = Path(__file__).resolve().parent / "project"
REVISIONS = "See notebook 03_sqlalchemy/06_migrations, 'Schema and data revisions'."
DOWNGRADES = "See notebook 03_sqlalchemy/06_migrations, 'Downgrades that really go back'."
DATA = "See notebook 03_sqlalchemy/06_migrations, 'Data migrations without the ORM'."
INDEX = "ix_customers_last_name_first_name"

# Full names at revision 0001 (trimmed, single-spaced), and how 0003 must split them.
NAMES = {
    "Ada Lovelace": ("Ada", "Lovelace"),
    "Grace Brewster Hopper": ("Grace", "Brewster Hopper"),
    "Cher": ("Cher", None),
    "Miles O'Brien": ("Miles", "O'Brien"),
    'Dwayne "The Rock" Johnson': ("Dwayne", '"The Rock" Johnson'),
    "Zoë Ångström": ("Zoë", "Ångström"),
    "Jean-Luc Picard": ("Jean-Luc", "Picard"),
    "Back\\slash Smith": ("Back\\slash", "Smith"),
    "50% Off_Sale": ("50%", "Off_Sale"),
    "Ludwig van Beethoven": ("Ludwig", "van Beethoven"),
    "李 小龙": ("李", "小龙"),
    "Robert'); DROP TABLE customers; --": ("Robert');", "DROP TABLE customers; --"),
}
INITIAL_COLUMNS = {"id": ("integer", None, "NO"), "full_name": ("character varying", 200, "NO")}
HEAD_COLUMNS = {
    "id": ("integer", None, "NO"),
    "full_name": ("character varying", 200, "YES"),
    "first_name": ("character varying", 100, "YES"),
    "last_name": ("character varying", 100, "YES"),
}


def _submission_file(sub) -> str:
    """The submission's path: the file of the module that defines its functions (decorators or not)."""
    module = sys.modules.get(getattr(sub.upgrade_schema, "__module__", ""))
    return getattr(module, "__file__", None) or inspect.getfile(sub.upgrade_schema)


class Lab:
    """One check's schema, the Alembic project copy that migrates it, and an observer connection."""

    def __init__(self, sub, db: Database, conn: asyncpg.Connection) -> None:
        from alembic.config import Config

        self.db, self.conn = db, conn
        self.schema = f"mig_{secrets.token_hex(4)}"
        self.engine = db.engine()
        self.folder = Path(tempfile.mkdtemp(prefix="course-alembic-"))
        shutil.copytree(PROJECT, self.folder, dirs_exist_ok=True)
        self.config = Config(str(self.folder / "alembic.ini"))
        self.config.set_main_option("script_location", str(self.folder))
        # The revision files load the submission from this path (the learner's own file).
        os.environ["COURSE_MIGRATIONS_FILE"] = _submission_file(sub)
        self.steps: list[str] = []

    @classmethod
    async def create(cls, sub, db: Database) -> Lab:
        lab = cls(sub, db, await db.connect())
        await lab.conn.execute(f"CREATE SCHEMA {lab.schema}")
        return lab

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    async def run(self, command: str, target: str) -> None:
        """`alembic <command> <target>` on this schema; a failing step fails the check, naming the step."""
        from alembic import command as commands

        fn = getattr(commands, command)
        step = f"alembic {command} {target}"
        self.steps.append(step)

        def migrate(sync_conn: Any) -> None:
            self.config.attributes["connection"] = sync_conn
            fn(self.config, target)

        async def go() -> None:
            async with self.engine.begin() as conn:
                await conn.exec_driver_sql(f"SET LOCAL search_path TO {self.schema}")
                await conn.run_sync(migrate)

        exc = await raises(go())
        if exc is not None:
            fail(f"Ran {' -> '.join(self.steps)}: the last step raised {_error(exc)}. "
                 f"{DOWNGRADES if command == 'downgrade' else REVISIONS}")

    async def version(self) -> list[str]:
        exists = await self.conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{self.schema}.alembic_version")
        if not exists:
            return []
        return [r[0] for r in await self.conn.fetch(f"SELECT version_num FROM {self.schema}.alembic_version")]

    async def columns(self) -> dict[str, tuple[str, int | None, str]]:
        rows = await self.conn.fetch(
            "SELECT column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name = 'customers' ORDER BY ordinal_position",
            self.schema,
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    async def indexes(self) -> dict[str, list[str]]:
        """Non-primary-key indexes of customers: name -> ordered column names (and UNIQUE if it is)."""
        rows = await self.conn.fetch(
            """
            SELECT i.relname AS name, array_agg(a.attname::text ORDER BY k.n) AS cols, ix.indisunique AS is_unique
            FROM pg_index ix
            JOIN pg_class i ON i.oid = ix.indexrelid
            JOIN pg_class t ON t.oid = ix.indrelid
            JOIN pg_namespace ns ON ns.oid = t.relnamespace
            CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n)
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
            WHERE ns.nspname = $1 AND t.relname = 'customers' AND NOT ix.indisprimary
            GROUP BY i.relname, ix.indisunique
            """,
            self.schema,
        )
        return {r["name"]: list(r["cols"]) + (["UNIQUE"] if r["is_unique"] else []) for r in rows}

    async def relations(self) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 ORDER BY 1",
            self.schema,
        )
        return [r[0] for r in rows]

    async def rows(self) -> list[dict[str, Any]]:
        cols = await self.columns()
        names = [c for c in ("id", "full_name", "first_name", "last_name") if c in cols]
        records = await self.conn.fetch(f"SELECT {', '.join(names)} FROM {self.schema}.customers ORDER BY id")
        return [dict(r) for r in records]

    async def insert_full_names(self, names: list[str]) -> None:
        await self.conn.executemany(f"INSERT INTO {self.schema}.customers (full_name) VALUES ($1)", [(n,) for n in names])

    async def at(self) -> str:
        return " -> ".join(self.steps)


def _error(exc: BaseException) -> str:
    """The exception, with the database's own message (the first line says what went wrong)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:300]}" if text else describe(exc)


def _differences(rows: list[dict[str, Any]], expected: list[dict[str, Any]]) -> str:
    """The first rows that differ, shown side by side."""
    if len(rows) != len(expected):
        return f"{len(rows)} customers, expected {len(expected)}"
    lines = [
        f"  id {want['id']}: got {({k: got.get(k) for k in want})!r}, expected {want!r}"
        for got, want in zip(rows, expected, strict=True)
        if any(got.get(k) != v for k, v in want.items())
    ]
    more = f"\n  ... and {len(lines) - 5} more" if len(lines) > 5 else ""
    return "\n".join(lines[:5]) + more


async def _initial_with_customers(sub, db: Database) -> tuple[Lab, list[str]]:
    lab = await Lab.create(sub, db)
    await lab.run("upgrade", "0001")
    names = list(NAMES)
    await lab.insert_full_names(names)
    return lab, names


def _expect_schema(columns: dict, indexes: dict, wanted_columns: dict, wanted_indexes: dict, where: str,
                   lesson: str) -> None:
    if columns != wanted_columns:
        fail(f"{where}: customers has the columns {_show(columns)}, expected {_show(wanted_columns)} "
             f"(type, length, nullable). {lesson}")
    if indexes != wanted_indexes:
        fail(f"{where}: customers has the indexes {indexes or 'none'} (besides its primary key), expected "
             f"{wanted_indexes or 'none'}. {lesson}")


def _show(columns: dict) -> str:
    return ", ".join(
        f"{name} {kind}{f'({length})' if length else ''} {'NULL' if nullable == 'YES' else 'NOT NULL'}"
        for name, (kind, length, nullable) in columns.items()
    )


async def test_upgrade_to_head_gives_the_new_schema(sub, db):
    lab, _ = await _initial_with_customers(sub, db)
    try:
        await lab.run("upgrade", "head")
        _expect_schema(await lab.columns(), await lab.indexes(), HEAD_COLUMNS, {INDEX: ["last_name", "first_name"]},
                       f"After {await lab.at()}", REVISIONS)
        version = await lab.version()
        expect(version == ["0003"], f"After {await lab.at()}: alembic_version holds {version}, expected ['0003'].")
    finally:
        lab.cleanup()


async def test_the_schema_revision_moves_no_data(sub, db):
    lab, names = await _initial_with_customers(sub, db)
    try:
        await lab.run("upgrade", "0002")
        _expect_schema(await lab.columns(), await lab.indexes(), HEAD_COLUMNS, {INDEX: ["last_name", "first_name"]},
                       f"After {await lab.at()}", REVISIONS)
        rows = await lab.rows()
        expected = [{"id": i + 1, "full_name": n, "first_name": None, "last_name": None} for i, n in enumerate(names)]
        expect(rows == expected,
               f"After {await lab.at()} (the schema revision alone), the rows are not as they were with empty new "
               f"columns:\n{_differences(rows, expected)}\nMoving data belongs to the data revision 0003: a schema "
               f"revision that also moves data cannot be downgraded (or re-run) in steps. {REVISIONS}")
    finally:
        lab.cleanup()


async def test_the_data_revision_splits_every_full_name(sub, db):
    lab, names = await _initial_with_customers(sub, db)
    try:
        await lab.run("upgrade", "head")
        rows = await lab.rows()
        expected = [
            {"id": i + 1, "full_name": n, "first_name": NAMES[n][0], "last_name": NAMES[n][1]} for i, n in enumerate(names)
        ]
        expect(rows == expected,
               f"After {await lab.at()}, the customers are not split as specified (first_name = up to the first "
               f"space, last_name = the rest or NULL, full_name unchanged):\n{_differences(rows, expected)}\n"
               f"Names hold quotes, %, backslashes and unicode: pass no value inside the SQL text. {DATA}")
    finally:
        lab.cleanup()


async def test_downgrading_the_data_revision_restores_the_data(sub, db):
    lab, names = await _initial_with_customers(sub, db)
    try:
        await lab.run("upgrade", "head")
        # Life at head: new customers are written with first/last names only, and one customer is renamed.
        await lab.conn.executemany(
            f"INSERT INTO {lab.schema}.customers (first_name, last_name) VALUES ($1, $2)",
            [("Alan", "Turing"), ("Prince", None), ("Mary", "O'Hara Smith")],
        )
        await lab.conn.execute(f"UPDATE {lab.schema}.customers SET last_name = 'King' WHERE id = 1")
        await lab.run("downgrade", "0002")
        rows = await lab.rows()
        full = [*names, "Alan Turing", "Prince", "Mary O'Hara Smith"]
        full[0] = "Ada King"
        expected = [{"id": i + 1, "full_name": n, "first_name": None, "last_name": None} for i, n in enumerate(full)]
        expect(rows == expected,
               f"Upgraded to head, then added 3 customers with first/last names only (Alan Turing, Prince, Mary "
               f"O'Hara Smith) and renamed customer 1 to last name King, then ran {await lab.at()}. The rows are not "
               f"what revision 0002 expects (full_name rebuilt from first and last names, first_name and last_name "
               f"NULL):\n{_differences(rows, expected)}\n{DOWNGRADES}")
    finally:
        lab.cleanup()


async def test_downgrading_the_schema_revision_restores_the_initial_schema(sub, db):
    lab, names = await _initial_with_customers(sub, db)
    try:
        await lab.run("upgrade", "head")
        await lab.conn.execute(f"INSERT INTO {lab.schema}.customers (first_name, last_name) VALUES ('Alan', 'Turing')")
        await lab.run("downgrade", "0001")
        _expect_schema(await lab.columns(), await lab.indexes(), INITIAL_COLUMNS, {}, f"After {await lab.at()}",
                       DOWNGRADES)
        rows = await lab.rows()
        expected = [{"id": i + 1, "full_name": n} for i, n in enumerate([*names, "Alan Turing"])]
        expect(rows == expected, f"After {await lab.at()}, the customers changed:\n{_differences(rows, expected)}\n"
                                 f"{DOWNGRADES}")
        version = await lab.version()
        expect(version == ["0001"], f"After {await lab.at()}: alembic_version holds {version}, expected ['0001'].")
    finally:
        lab.cleanup()


async def test_downgrade_to_base_then_upgrade_again(sub, db):
    lab, names = await _initial_with_customers(sub, db)
    try:
        await lab.run("upgrade", "head")
        await lab.run("downgrade", "base")
        left = [r for r in await lab.relations() if not r.startswith("alembic_version")]
        expect(not left, f"After {await lab.at()}, the schema still holds {left}: base means nothing left. "
                         f"{DOWNGRADES}")
        version = await lab.version()
        expect(version == [], f"After {await lab.at()}: alembic_version holds {version}, expected no row.")
        # Everything again, twice: upgrades must work on a database that has been downgraded.
        await lab.run("upgrade", "head")
        await lab.run("downgrade", "0001")
        await lab.insert_full_names(names)
        await lab.run("upgrade", "head")
        await lab.run("downgrade", "0002")
        await lab.run("upgrade", "head")
        _expect_schema(await lab.columns(), await lab.indexes(), HEAD_COLUMNS, {INDEX: ["last_name", "first_name"]},
                       f"After {await lab.at()}", DOWNGRADES)
        rows = await lab.rows()
        expected = [
            {"id": i + 1, "full_name": n, "first_name": NAMES[n][0], "last_name": NAMES[n][1]} for i, n in enumerate(names)
        ]
        expect(rows == expected,
               f"After {await lab.at()}, the customers are not split as specified:\n{_differences(rows, expected)}\n"
               f"{DOWNGRADES}")
    finally:
        lab.cleanup()
