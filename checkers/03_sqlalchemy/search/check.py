"""Checks for sqlalchemy/search: `search_products(session, *, text, tags, attributes, limit)`.

Each check empties `products` and inserts its own catalogue (ids fixed), so the expected ids of every search
are known by construction; their order is asked from PostgreSQL itself (`ORDER BY name, id` under the
database's collation). Every call gets a fresh session on an engine whose statements are counted.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import async_sessionmaker

from course.checking import Database, describe, expect, fail, raises
from course.probes import StatementCounter
from course.shop import Product

REQUIRES = {
    "search_products": "async def search_products(session, *, text=None, tags=(), attributes=None, limit=20)"
}
FULL_TEXT = "See notebook 03_sqlalchemy/05_postgres_features_and_pagination, 'Full-text search'."
CONTAINMENT = "See notebook 03_sqlalchemy/05_postgres_features_and_pagination, 'JSONB and arrays'."
BOUND = "See notebook 03_sqlalchemy/05_postgres_features_and_pagination, 'Never build SQL with f-strings'."

HOSTILE_NAME = "O'Brien's \"special\" kit"
HOSTILE_TAGS = ['{"odd", tag}', "O'Brien", "back\\slash", "ünï"]
HOSTILE_ATTRIBUTES = {"note": 'say "hi" \\ {x}', "it's": "100%_sure"}

# (id, name, description, tags, attributes). Ids are inserted in the order listed: the six "Widget" rows go
# in with decreasing ids, so a sort on the name alone returns them in insertion order, not by id.
CATALOGUE: list[tuple[int, str, str, list[str], dict[str, str]]] = [
    (1, "Trail running shoes", "Light and grippy", ["sport", "red", "sale"], {"size": "M", "colour": "red"}),
    (2, "Road shoes", "Made for long runs on asphalt", ["sport", "blue"], {"size": "L", "colour": "blue"}),
    (3, "Runner's diary", "A notebook with a pen loop", ["paper"], {"size": "S"}),
    (4, "Connection cable", "Two metres, braided", ["tech", "sale"], {"colour": "black", "size": "S"}),
    (5, "USB hub", "Connecting four devices at once", ["tech"], {"colour": "black"}),
    (6, "Kettle", "Enamel finish", ["kitchen", "red"], {"colour": "red", "size": "L"}),
    (7, HOSTILE_NAME, "50% off_now \\ {braces} ünïcödé", HOSTILE_TAGS, HOSTILE_ATTRIBUTES),
    *[
        (i, "Widget", f"Widget number {i}", ["widget", "sale"] if i % 2 else ["widget"], {"size": "M"})
        for i in range(25, 19, -1)
    ],
]


async def _catalogue(db: Database) -> tuple[Any, StatementCounter]:
    """Fresh products for this check; an engine (already connected once) and its statement counter."""
    conn = await db.connect()
    await conn.execute("TRUNCATE products RESTART IDENTITY CASCADE")
    await conn.executemany(
        "INSERT INTO products (id, sku, name, description, price_cents, tags, attributes) "
        "VALUES ($1, $2, $3, $4, 100, $5, $6::jsonb)",
        [(i, f"SRCH-{i:03d}", n, d, t, json.dumps(a)) for i, n, d, t, a in CATALOGUE],
    )
    engine = db.engine()
    async with engine.connect():  # the dialect's first-connect queries are not the submission's
        pass
    return engine, StatementCounter(engine)


async def _ordered(db: Database, ids: set[int]) -> list[int]:
    """The expected order of `ids`, as PostgreSQL sorts them (name under the database collation, then id)."""
    conn = await db.connect()
    rows = await conn.fetch("SELECT id FROM products WHERE id = ANY($1::int[]) ORDER BY name, id", list(ids))
    return [r["id"] for r in rows]


def _call(kwargs: dict[str, Any]) -> str:
    return "search_products(" + ", ".join(["session", *(f"{k}={v!r}" for k, v in kwargs.items())]) + ")"


async def _search(sub, engine, **kwargs: Any) -> list[int]:
    """Ids of what the submission returned, in its order; a readable failure if it did not return products."""
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        result = await sub.search_products(session, **kwargs)
    expect(isinstance(result, list) and all(isinstance(p, Product) for p in result),
           f"Called {_call(kwargs)}: got {result!r:.200}, expected a list of Product objects.")
    return [p.id for p in result]


async def _expect_ids(sub, db, engine, expected: set[int], lesson: str, why: str = "", **kwargs: Any) -> None:
    got = await _search(sub, engine, **kwargs)
    want = await _ordered(db, expected)
    if set(got) != set(want):
        names = {i: n for i, n, *_ in CATALOGUE}
        missing = [names[i] for i in want if i not in got]
        extra = [names.get(i, i) for i in got if i not in want]
        fail(f"Called {_call(kwargs)}: got ids {got}, expected {want}. Missing: {missing}; not expected: {extra}. "
             f"{why}{lesson}")
    expect(got == want, f"Called {_call(kwargs)}: got the right products but in the order {got}, expected {want} "
                        f"(by name, then id). {lesson}")


async def test_full_text_finds_stemmed_words_in_name_and_description(sub, db):
    engine, _ = await _catalogue(db)
    why = ("Full-text search with the english configuration stems words: 'run' matches 'running' and 'runs' but "
           "not 'runner'; 'connected' matches 'connection' and 'connecting'. ")
    await _expect_ids(sub, db, engine, {1, 2}, FULL_TEXT, why, text="run")
    await _expect_ids(sub, db, engine, {1, 2}, FULL_TEXT, why, text="Running")
    await _expect_ids(sub, db, engine, {4, 5}, FULL_TEXT, why, text="connected")
    await _expect_ids(sub, db, engine, {2}, FULL_TEXT, why, text="long asphalt")  # description only, two words
    await _expect_ids(sub, db, engine, set(), FULL_TEXT, why, text="shoes kettle")  # every word must match


async def test_every_tag_must_be_present(sub, db):
    engine, _ = await _catalogue(db)
    why = "A product must carry ALL the given tags (array containment @>), not just one of them. "
    await _expect_ids(sub, db, engine, {1, 2}, CONTAINMENT, why, tags=["sport"])
    await _expect_ids(sub, db, engine, {1}, CONTAINMENT, why, tags=["sport", "red"])
    await _expect_ids(sub, db, engine, {1, 4, 21, 23, 25}, CONTAINMENT, why, tags=("sale",))
    await _expect_ids(sub, db, engine, set(), CONTAINMENT, why, tags=["tech", "kitchen"])


async def test_attributes_must_contain_every_pair(sub, db):
    engine, _ = await _catalogue(db)
    why = "The attributes must contain every given key/value pair (JSONB containment @>). "
    await _expect_ids(sub, db, engine, {4, 5}, CONTAINMENT, why, attributes={"colour": "black"})
    await _expect_ids(sub, db, engine, {4}, CONTAINMENT, why, attributes={"colour": "black", "size": "S"})
    await _expect_ids(sub, db, engine, {6}, CONTAINMENT, why, attributes={"size": "L", "colour": "red"})
    await _expect_ids(sub, db, engine, set(), CONTAINMENT, why, attributes={"colour": "green"})


async def test_filters_combine_with_and(sub, db):
    engine, _ = await _catalogue(db)
    why = "Every filter given must hold at once (AND). "
    await _expect_ids(sub, db, engine, {2}, CONTAINMENT, why, text="shoes", tags=["sport"], attributes={"size": "L"})
    await _expect_ids(sub, db, engine, {1}, CONTAINMENT, why, text="shoes", tags=["sale"])
    await _expect_ids(sub, db, engine, {4}, CONTAINMENT, why, tags=["tech"], attributes={"size": "S"})
    await _expect_ids(sub, db, engine, {21, 23, 25}, CONTAINMENT, why, text="widget", tags=["sale"],
                      attributes={"size": "M"})


async def test_results_are_ordered_by_name_then_id(sub, db):
    engine, _ = await _catalogue(db)
    why = "Six products share the name 'Widget': only the id tells them apart. "
    await _expect_ids(sub, db, engine, set(range(20, 26)), FULL_TEXT, why, text="widget")
    await _expect_ids(sub, db, engine, {1, 4, 21, 23, 25}, FULL_TEXT, why, tags=["sale"])


async def test_limit_and_no_filter(sub, db):
    engine, _ = await _catalogue(db)
    everything = await _ordered(db, {row[0] for row in CATALOGUE})
    for limit in (1, 3, 9, 50):
        got = await _search(sub, engine, limit=limit)
        expect(got == everything[:limit],
               f"Called search_products(session, limit={limit}) with no filter: got ids {got}, expected the first "
               f"{limit} products by name then id: {everything[:limit]}. {FULL_TEXT}")
    got = await _search(sub, engine, text="widget", limit=4)
    expect(got == [20, 21, 22, 23],
           f"Called search_products(session, text='widget', limit=4): got ids {got}, expected [20, 21, 22, 23]. "
           f"{FULL_TEXT}")


async def test_each_search_is_one_statement(sub, db):
    engine, counter = await _catalogue(db)
    calls: list[dict[str, Any]] = [
        {},
        {"text": "shoes"},
        {"text": "shoes", "tags": ["sport", "red"], "attributes": {"size": "M", "colour": "red"}},
    ]
    for kwargs in calls:
        counter.reset()
        await _search(sub, engine, **kwargs)
        expect(counter.count == 1,
               f"Called {_call(kwargs)}: {counter.count} statements reached the database, expected exactly 1 "
               f"(one SELECT with every filter, the order and the limit):\n{counter.summary()}\n{FULL_TEXT}")


async def _fingerprint(conn: asyncpg.Connection) -> tuple[int, str]:
    row = await conn.fetchrow(
        "SELECT count(*) AS n, md5(coalesce(string_agg(id::text || sku || name || description || tags::text "
        "|| attributes::text, '|' ORDER BY id), '')) AS digest FROM products"
    )
    return row["n"], row["digest"]


async def _hostile(sub, engine, expected: list[int], kwargs: dict[str, Any]) -> None:
    got: list[int] = []

    async def run() -> None:
        got.extend(await _search(sub, engine, **kwargs))

    exc = await raises(run())
    if exc is not None:
        fail(f"Called {_call(kwargs)}: it raised {describe(exc)}. A hostile value must give results or nothing, "
             f"never an error: pass every value as a bound parameter, never inside the SQL text. {BOUND}")
    expect(got == expected,
           f"Called {_call(kwargs)}: got ids {got}, expected {expected}. The value must be compared as a value; "
           f"did it end up inside the SQL (or inside an array/JSON literal you built)? {BOUND}")


async def test_hostile_values_are_matched_as_plain_values(sub, db):
    """Product 7 carries quotes, braces, commas, backslashes and unicode: they must match exactly, as data."""
    engine, _ = await _catalogue(db)
    await _hostile(sub, engine, [7], {"text": "O'Brien's"})
    await _hostile(sub, engine, [7], {"text": "ünïcödé"})
    for tag in HOSTILE_TAGS:
        await _hostile(sub, engine, [7], {"tags": [tag]})
    await _hostile(sub, engine, [7], {"tags": list(HOSTILE_TAGS)})
    await _hostile(sub, engine, [], {"tags": ["odd"]})
    for key, value in HOSTILE_ATTRIBUTES.items():
        await _hostile(sub, engine, [7], {"attributes": {key: value}})
    await _hostile(sub, engine, [7], {"attributes": dict(HOSTILE_ATTRIBUTES)})
    await _hostile(sub, engine, [], {"attributes": {"note": "say"}})


INJECTIONS = [
    "'; DROP TABLE products; --",
    "x' OR '1'='1",
    "') OR true --",
    "x'] OR true OR tags @> ARRAY['y",
    '"} \' OR \'1\'=\'1',
    "%",
    "_",
    "\\",
    "{",
    "}",
    '"',
    '{"a": 1}',
    "1; SELECT pg_sleep(1)",
]


async def test_injection_attempts_find_nothing_and_change_nothing(sub, db):
    engine, _ = await _catalogue(db)
    observer = await db.connect()
    before = await _fingerprint(observer)
    for payload in INJECTIONS:
        await _hostile(sub, engine, [], {"text": payload})
        await _hostile(sub, engine, [], {"tags": [payload]})
        await _hostile(sub, engine, [], {"attributes": {"colour": payload}})
        await _hostile(sub, engine, [], {"attributes": {payload: "red"}})
    exists = await observer.fetchval("SELECT to_regclass('public.products') IS NOT NULL")
    expect(exists, f"After the injection attempts the table products is gone. {BOUND}")
    after = await _fingerprint(observer)
    expect(after == before,
           f"After the injection attempts (searches only), products changed: {before[0]} rows before, {after[0]} "
           f"after (or their content differs). A search must never change the database. {BOUND}")
