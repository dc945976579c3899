"""Checks for sqlalchemy/models: the learner's own `Base`, `User` and `Order`.

The check database already holds the shop's tables in `public`, so every check creates the learner's tables
in a fresh schema of its own (the engine's `search_path` points there) and then inspects what PostgreSQL
really built, through information_schema and pg_catalog: types, NOT NULLs, keys, indexes, defaults. The
relationships are judged by behaviour: what touching them does, and what a flush writes.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, InvalidRequestError, NoInspectionAvailable
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.checking import Database, expect, fail
from course.probes import StatementCounter

REQUIRES = {
    "Base": "class Base(DeclarativeBase)",
    "User": "class User(Base)",
    "Order": "class Order(Base)",
}
LESSON = "See notebook 03_sqlalchemy/01, '{}'."

USERS = {
    "id": ("uuid", None),
    "email": ("character varying", 255),
    "name": ("character varying", 100),
    "created_at": ("timestamp with time zone", None),
}
ORDERS = {
    "id": ("uuid", None),
    "user_id": ("uuid", None),
    "total_cents": ("integer", None),
    "status": ("character varying", 20),
    "created_at": ("timestamp with time zone", None),
}
SQL_TYPE = {
    ("uuid", None): "UUID (Mapped[uuid.UUID])",
    ("character varying", 255): "VARCHAR(255) (String(255))",
    ("character varying", 100): "VARCHAR(100) (String(100))",
    ("character varying", 20): "VARCHAR(20) (String(20))",
    ("timestamp with time zone", None): "TIMESTAMP WITH TIME ZONE (DateTime(timezone=True))",
    ("integer", None): "INTEGER (Integer)",
}


def _mapper(cls: Any, name: str, table: str) -> Any:
    """The mapper of the learner's class; a placeholder of the stub raises NotImplementedError here."""
    try:
        mapper = sa.inspect(cls)
    except NoInspectionAvailable:
        getattr(cls, "__table__", None)  # the stub's placeholder raises NotImplementedError on any attribute
        fail(
            f'`{name}` is not a mapped class: make it `class {name}(Base):` with `__tablename__ = "{table}"`.'
        )
    if cls.__module__.startswith("course."):
        fail(
            f"`{name}` comes from {cls.__module__}: define your own mapped class in your file, do not import the shop's."
        )
    expect(
        mapper.local_table.name == table,
        f"`{name}` is mapped to the table {mapper.local_table.name!r}; it must be {table!r}.",
    )
    return mapper


class Schema:
    """The learner's tables created in a fresh schema; `engine` reaches them through its search_path."""

    def __init__(self, name: str, engine: AsyncEngine, sub: Any) -> None:
        self.name, self.engine, self.sub = name, engine, sub
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    async def create(cls, sub: Any, db: Database) -> Schema:
        users = _mapper(sub.User, "User", "users")
        orders = _mapper(sub.Order, "Order", "orders")
        expect(
            users.local_table.metadata is orders.local_table.metadata,
            "`User` and `Order` are registered on different MetaData objects: map both on the same `Base`.",
        )
        name = f"m3_{secrets.token_hex(4)}"
        conn = await db.connect()
        await conn.execute(f"CREATE SCHEMA {name}")
        engine = db.engine(connect_args={"server_settings": {"search_path": name}})
        try:
            async with engine.begin() as c:
                await c.run_sync(users.local_table.metadata.create_all)
        except Exception as exc:  # noqa: BLE001 - the learner's metadata could not be created
            fail(f"Creating your tables failed: {type(exc).__name__}: {str(exc)[:300]}")
        return cls(name, engine, sub)

    async def columns(self, db: Database, table: str) -> dict[str, Any]:
        conn = await db.observer()
        rows = await conn.fetch(
            "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
            self.name,
            table,
        )
        return {r["column_name"]: r for r in rows}

    async def indexes(self, db: Database, table: str) -> list[dict[str, Any]]:
        conn = await db.observer()
        rows = await conn.fetch(
            """
            SELECT i.relname AS name, ix.indisunique AS is_unique, ix.indisprimary AS is_primary,
                   ix.indpred IS NOT NULL AS partial,
                   array(SELECT coalesce(a.attname, '<expression>')
                         FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
                         LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
                         ORDER BY k.n) AS columns
            FROM pg_index ix
            JOIN pg_class t ON t.oid = ix.indrelid
            JOIN pg_class i ON i.oid = ix.indexrelid
            JOIN pg_namespace s ON s.oid = t.relnamespace
            WHERE s.nspname = $1 AND t.relname = $2
            """,
            self.name,
            table,
        )
        return [dict(r) for r in rows]


def _new(cls: Any, **values: Any) -> Any:
    """An instance of the learner's class, whatever constructor it has."""
    try:
        return cls(**values)
    except TypeError:
        obj = cls()
        for key, value in values.items():
            setattr(obj, key, value)
        return obj


def _describe_index(ix: dict[str, Any]) -> str:
    kind = "primary key" if ix["is_primary"] else "unique index" if ix["is_unique"] else "index"
    return f"{kind} {ix['name']} on ({', '.join(ix['columns'])})"


async def _add_user(schema: Schema, email: str) -> uuid.UUID:
    """Insert a user with plain SQL, as a migration or another service would: only id, email and name."""
    user_id = uuid.uuid4()
    async with schema.engine.begin() as conn:
        await conn.execute(
            sa.text("INSERT INTO users (id, email, name) VALUES (:id, :email, 'Ada')"),
            {"id": user_id, "email": email},
        )
    return user_id


async def _add_with_sql(schema: Schema, email: str) -> uuid.UUID:
    """`_add_user` for a user and one order, failing the check (with the reason) if PostgreSQL refuses."""
    try:
        user_id = await _add_user(schema, email)
        async with schema.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO orders (id, user_id, total_cents, status) VALUES (:id, :user, 100, 'paid')"
                ),
                {"id": uuid.uuid4(), "user": user_id},
            )
    except sa.exc.DBAPIError as exc:
        fail(
            "A plain SQL insert giving only the required columns (users: id, email, name; orders: id, user_id, "
            f"total_cents, status) failed: {str(exc.orig)[:200]}. created_at needs a server default of now() "
            "(server_default=func.now()): Python-side defaults do not exist for SQL, COPY or other services. "
            + LESSON.format("Mapping tables the 2.0 way")
        )
    return user_id


async def test_user_and_order_are_mapped_and_their_tables_can_be_created(sub, db):
    schema = await Schema.create(sub, db)
    conn = await db.observer()
    tables = {
        r["table_name"]
        for r in await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema.name
        )
    }
    expect(
        {"users", "orders"} <= tables,
        f"After `Base.metadata.create_all`, the tables created were {sorted(tables)}; expected users and orders. "
        + LESSON.format("Mapping tables the 2.0 way"),
    )


async def test_columns_have_the_shop_types_and_are_not_null(sub, db):
    schema = await Schema.create(sub, db)
    problems = []
    for table, wanted in (("users", USERS), ("orders", ORDERS)):
        columns = await schema.columns(db, table)
        for column, (data_type, length) in wanted.items():
            got = columns.get(column)
            if got is None:
                problems.append(f"{table}.{column} is missing (columns: {', '.join(sorted(columns))})")
                continue
            if (got["data_type"], got["character_maximum_length"]) != (data_type, length):
                shown = got["data_type"] + (
                    f"({got['character_maximum_length']})" if got["character_maximum_length"] else ""
                )
                hint = (
                    ": a naive timestamp loses the time zone, use DateTime(timezone=True)"
                    if got["data_type"] == "timestamp without time zone"
                    else ""
                )
                problems.append(
                    f"{table}.{column} is {shown}, expected {SQL_TYPE[(data_type, length)]}{hint}"
                )
            if got["is_nullable"] != "NO":
                problems.append(
                    f"{table}.{column} accepts NULL; it must be NOT NULL (Mapped[...] without Optional)"
                )
    expect(
        not problems,
        "The tables PostgreSQL built from your models differ from the shop's:\n  - "
        + "\n  - ".join(problems)
        + "\n"
        + LESSON.format("Mapping tables the 2.0 way"),
    )
    for table in ("users", "orders"):
        primary = [ix for ix in await schema.indexes(db, table) if ix["is_primary"]]
        expect(
            [ix["columns"] for ix in primary] == [["id"]],
            f"The primary key of {table} is {[ix['columns'] for ix in primary]}; expected (id).",
        )


async def test_email_is_unique_and_indexed(sub, db):
    schema = await Schema.create(sub, db)
    indexes = await schema.indexes(db, "users")
    unique = [ix for ix in indexes if ix["is_unique"] and not ix["partial"] and ix["columns"] == ["email"]]
    expect(
        unique,
        "users.email has no unique index: two accounts could share an email, and looking a user up by email "
        f"needs an index. Indexes on users: {'; '.join(_describe_index(ix) for ix in indexes) or 'none'}. "
        + LESSON.format("Indexes and constraints"),
    )
    await _add_with_sql(schema, "twice@example.com")
    try:
        await _add_user(schema, "twice@example.com")
    except IntegrityError:
        return
    fail("Inserting two users with the email 'twice@example.com' succeeded; the second must be rejected.")


async def test_orders_reference_users(sub, db):
    schema = await Schema.create(sub, db)
    conn = await db.observer()
    rows = await conn.fetch(
        """
        SELECT rt.relname AS target,
               array(SELECT a.attname FROM unnest(c.conkey) k JOIN pg_attribute a
                     ON a.attrelid = c.conrelid AND a.attnum = k) AS columns,
               array(SELECT a.attname FROM unnest(c.confkey) k JOIN pg_attribute a
                     ON a.attrelid = c.confrelid AND a.attnum = k) AS target_columns
        FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_namespace s ON s.oid = t.relnamespace
        JOIN pg_class rt ON rt.oid = c.confrelid
        WHERE c.contype = 'f' AND s.nspname = $1 AND t.relname = 'orders'
        """,
        schema.name,
    )
    found = [(r["target"], list(r["columns"]), list(r["target_columns"])) for r in rows]
    expect(
        ("users", ["user_id"], ["id"]) in found,
        f"orders has no foreign key user_id -> users.id (foreign keys found: {found or 'none'}): an order could "
        'point to a user who does not exist. Use ForeignKey("users.id"). '
        + LESSON.format("Indexes and constraints"),
    )


async def test_orders_have_both_composite_indexes(sub, db):
    schema = await Schema.create(sub, db)
    indexes = await schema.indexes(db, "orders")
    for wanted, why in (
        (["user_id", "created_at"], "a user's orders, newest first"),
        (["created_at", "id"], "keyset pagination of all orders"),
    ):
        expect(
            any(ix["columns"][:2] == wanted and not ix["partial"] for ix in indexes),
            f"orders has no index on ({', '.join(wanted)}), in that order (it serves {why}). Indexes on orders: "
            f"{'; '.join(_describe_index(ix) for ix in indexes) or 'none'}. Declare it in __table_args__ with "
            "Index(...). " + LESSON.format("Indexes and constraints"),
        )


async def test_defaults_fill_ids_created_at_and_status(sub, db):
    schema = await Schema.create(sub, db)
    # created_at must come from the server: a plain SQL insert does not run Python defaults.
    await _add_with_sql(schema, "sql@example.com")
    observer = await db.observer()
    for table in ("users", "orders"):
        row = await observer.fetchrow(
            f"SELECT created_at, abs(extract(epoch FROM now() - created_at)) AS age FROM {schema.name}.{table}"
        )
        expect(
            row["created_at"] is not None and row["age"] < 3600,
            f"A row inserted into {table} with plain SQL got created_at = {row['created_at']!r}: it needs a "
            "server default of now() (server_default=func.now()), so that every writer gets it. "
            + LESSON.format("Mapping tables the 2.0 way"),
        )
    # id and status may come from Python defaults: insert through a session without them.
    try:
        async with schema.sessions() as session:
            user = _new(sub.User, email="orm@example.com", name="Grace")
            session.add(user)
            await session.flush()
            expect(
                getattr(user, "id", None) is not None,
                "A User added without an id got none after the flush: give id a default (default=uuid.uuid4).",
            )
            order = _new(sub.Order, user_id=user.id, total_cents=250)
            session.add(order)
            await session.commit()
    except sa.exc.DBAPIError as exc:
        fail(
            "Saving User(email, name) and then Order(user_id, total_cents) through a session, without id, status "
            f"or created_at, failed: {str(exc.orig)[:200]}. Those columns need defaults. "
            + LESSON.format("Mapping tables the 2.0 way")
        )
    status = await observer.fetchval(f"SELECT status FROM {schema.name}.orders WHERE total_cents = 250")
    expect(
        status == "pending",
        f"An Order saved without a status has status {status!r} in the database; expected 'pending' "
        '(default="pending"). ' + LESSON.format("Mapping tables the 2.0 way"),
    )


async def test_relationships_raise_instead_of_loading(sub, db):
    schema = await Schema.create(sub, db)
    await _add_with_sql(schema, "lazy@example.com")
    counter = StatementCounter(schema.engine)
    for cls, attribute in ((sub.Order, "user"), (sub.User, "orders")):
        async with schema.sessions() as session:
            obj = (await session.scalars(sa.select(cls))).first()
            counter.reset()
            # Inside run_sync a lazy loader may run SQL (it is in a greenlet): lazy="select" would load silently.
            try:
                value = await session.run_sync(
                    lambda _s, obj=obj, attribute=attribute: getattr(obj, attribute)
                )
            except InvalidRequestError:
                expect(counter.count == 0, f"Touching {attribute} sent SQL:\n{counter.summary()}")
                continue
            except AttributeError:
                fail(f"`{cls.__name__}` has no `{attribute}` relationship.")
            fail(
                f"Touching `{attribute}` on a loaded {cls.__name__} (not loaded by the query) returned {value!r} "
                f'after {counter.count} hidden statement(s):\n{counter.summary()}\nWith lazy="raise" it raises '
                "instead, so that every load is written in the query, never an N+1 by accident. "
                + LESSON.format('lazy="raise"')
            )


async def test_user_orders_and_order_user_mirror_each_other(sub, db):
    schema = await Schema.create(sub, db)
    user = _new(sub.User, email="pair@example.com", name="Linus")
    first = _new(sub.Order, total_cents=100)
    second = _new(sub.Order, total_cents=200)
    try:
        first.user = user
        mirrored = list(user.orders)
        user.orders.append(second)
        back = second.user
    except InvalidRequestError as exc:
        fail(f"Linking a new Order and a new User in memory raised {exc}.")
    except AttributeError as exc:
        fail(
            f"Linking a new Order and a new User in memory raised {exc!r}: `User.orders` and `Order.user` must be relationships."
        )
    expect(
        first in mirrored,
        "After `order.user = user`, `user.orders` does not contain the order: the two relationships ignore each "
        "other. Link them with back_populates on both sides. " + LESSON.format('lazy="raise"'),
    )
    expect(
        back is user,
        "After `user.orders.append(order)`, `order.user` is not that user: link the relationships with "
        "back_populates on both sides. " + LESSON.format('lazy="raise"'),
    )
    async with schema.sessions() as session:
        session.add(user)
        await session.commit()
    observer = await db.observer()
    owners = await observer.fetch(
        f"SELECT o.total_cents, u.email FROM {schema.name}.orders o JOIN {schema.name}.users u ON u.id = o.user_id "
        "ORDER BY o.total_cents"
    )
    expect(
        [(r["total_cents"], r["email"]) for r in owners]
        == [(100, "pair@example.com"), (200, "pair@example.com")],
        f"Saving the user saved these (total_cents, owner email) orders: {[tuple(r) for r in owners]}; expected "
        "both orders, owned by pair@example.com.",
    )
