"""Checks for fastapi/schemas: the product models and `create_app(engine)`, driven over HTTP in process.

Every check builds the app first (so that a stub reads "not attempted"), talks to it with an httpx client
over ASGI (the lifespan run), and reads what was stored from a separate asyncpg connection.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from course import web
from course.checking import Database, expect, fail
from course.shop import Product

REQUIRES = {
    "ProductCreate": "class ProductCreate(BaseModel)",
    "ProductUpdate": "class ProductUpdate(BaseModel)",
    "ProductResponse": "class ProductResponse(BaseModel)",
    "create_app": "def create_app(engine: AsyncEngine) -> FastAPI",
}
LESSON = "See notebook 02_fastapi/03, '{}'."
# Snapshotted before the submission is imported: the client must be the real one.
_CLIENT_SEND = httpx.AsyncClient.send
_TRANSPORT = httpx.ASGITransport.handle_async_request

GOOD = {
    "sku": "KB-001",
    "name": "Keyboard",
    "price_cents": 1234,
    "description": "Mechanical, 87 keys",
    "tags": ["input", "usb"],
    "attributes": {"layout": "ISO", "switches": {"kind": "brown", "count": 87}},
}


def _untouched() -> None:
    expect(
        httpx.AsyncClient.send is _CLIENT_SEND and httpx.ASGITransport.handle_async_request is _TRANSPORT,
        "Your code replaced part of httpx: the checks cannot trust the responses they see. "
        "Do not monkeypatch libraries in your solution.",
    )


async def _app(sub: Any, db: Database) -> Any:
    observer = await db.observer()
    await observer.execute("TRUNCATE order_items, orders, products RESTART IDENTITY CASCADE")
    return sub.create_app(db.engine())


def _show(method: str, url: str, body: Any, response: httpx.Response) -> str:
    sent = f"{method} {url}" + (f" {json.dumps(body)}" if body is not None else "")
    return f"Sent {sent}\n  got {response.status_code} {response.text[:400]}"


async def _call(client: httpx.AsyncClient, method: str, url: str, body: Any = None) -> httpx.Response:
    response = (
        await client.request(method, url, json=body)
        if body is not None
        else await client.request(method, url)
    )
    _untouched()
    return response


async def _rows(db: Database) -> list[dict]:
    rows = await (await db.observer()).fetch(
        "SELECT id, sku, name, description, price_cents, tags, attributes FROM products ORDER BY id"
    )
    return [{**dict(r), "attributes": json.loads(r["attributes"])} for r in rows]


def _json(r: httpx.Response) -> Any:
    """The parsed body, or None when it is not JSON (the message then shows the raw text)."""
    try:
        return r.json()
    except ValueError:
        return None


async def _create(client: httpx.AsyncClient, body: dict) -> dict:
    r = await _call(client, "POST", "/products", body)
    expect(
        r.status_code == 201 and isinstance(_json(r), dict) and "id" in _json(r),
        _show("POST", "/products", body, r)
        + "\n  expected 201 with the new product (needed before this check can go on).",
    )
    return _json(r)


def _expect_product(body: Any, want: dict, context: str) -> None:
    expect(isinstance(body, dict), f"{context}\n  expected a JSON object (ProductResponse).")
    missing = [
        k
        for k in ("id", "sku", "name", "description", "price_cents", "tags", "attributes", "price")
        if k not in body
    ]
    expect(not missing, f"{context}\n  the response lacks {missing}. " + LESSON.format("Response models"))
    for key, value in want.items():
        expect(body[key] == value, f"{context}\n  expected {key} = {value!r}, got {body[key]!r}.")


async def test_post_creates_a_product_and_get_returns_it(sub, db):
    app = await _app(sub, db)
    async with web.asgi_client(app) as client:
        r = await _call(client, "POST", "/products", GOOD)
        context = _show("POST", "/products", GOOD, r)
        expect(r.status_code == 201, f"{context}\n  expected 201 Created.")
        body = _json(r)
        _expect_product(body, {**GOOD, "price": "12.34"}, context)
        expect(isinstance(body["id"], int), f"{context}\n  expected an integer id.")
        rows = await _rows(db)
        expect(
            len(rows) == 1 and {k: rows[0][k] for k in GOOD} == GOOD,
            f"{context}\n  the products table (read from another connection) holds {rows}; expected the product as sent.",
        )
        r = await _call(client, "GET", f"/products/{body['id']}")
        context = _show("GET", f"/products/{body['id']}", None, r)
        expect(r.status_code == 200, f"{context}\n  expected 200.")
        _expect_product(_json(r), {**GOOD, "id": body["id"], "price": "12.34"}, context)
        # Only the required fields: the optional ones take their defaults.
        minimal = {"sku": "MOUSE-2", "name": "Mouse", "price_cents": 5}
        r = await _call(client, "POST", "/products", minimal)
        context = _show("POST", "/products", minimal, r)
        expect(
            r.status_code == 201, f"{context}\n  expected 201: description, tags and attributes are optional."
        )
        _expect_product(
            _json(r), {**minimal, "description": "", "tags": [], "attributes": {}, "price": "0.05"}, context
        )


async def test_price_is_a_decimal_string_built_from_the_orm_object(sub, db):
    await _app(sub, db)
    for cents, price in [(1234, "12.34"), (5, "0.05"), (0, "0.00"), (100, "1.00"), (123456789, "1234567.89")]:
        product = Product(
            id=7, sku="P-1", name="Pen", description="", price_cents=cents, tags=["a"], attributes={}
        )
        try:
            model = sub.ProductResponse.model_validate(product)
        except Exception as exc:  # noqa: BLE001 - any failure is the learner's to see
            fail(
                f"ProductResponse.model_validate(<Product ORM object>) raised {type(exc).__name__}: {exc}\n"
                "  expected a model built from the object's attributes. "
                + LESSON.format("Response models from ORM objects")
            )
        dumped = json.loads(model.model_dump_json())
        expect(
            dumped.get("price") == price and dumped.get("price_cents") == cents and dumped.get("id") == 7,
            f"ProductResponse.model_validate(Product(price_cents={cents}, ...)) dumps {dumped}\n"
            f"  expected price = {price!r} (a string with exactly two decimals), price_cents = {cents}. "
            + LESSON.format("Computed fields"),
        )


async def test_duplicate_sku_is_409_and_stores_nothing(sub, db):
    app = await _app(sub, db)
    async with web.asgi_client(app) as client:
        await _call(client, "POST", "/products", GOOD)
        again = {**GOOD, "name": "Another keyboard"}
        r = await _call(client, "POST", "/products", again)
        expect(
            r.status_code == 409,
            _show("POST", "/products", again, r) + "\n  expected 409: that sku is taken.",
        )
        rows = await _rows(db)
        expect(
            len(rows) == 1 and rows[0]["name"] == "Keyboard",
            f"After the 409 the table holds {rows}; expected the first product only.",
        )
        r = await _call(client, "POST", "/products", {**GOOD, "sku": "KB-002"})
        expect(
            r.status_code == 201,
            _show("POST", "/products", {**GOOD, "sku": "KB-002"}, r)
            + "\n  expected 201: the app must still work after a 409.",
        )


INVALID_CREATES = [
    ({**GOOD, "is_admin": True}, "an unknown field"),
    ({**GOOD, "sku": "kb-001"}, "a lower-case sku"),
    ({**GOOD, "sku": ""}, "an empty sku"),
    ({**GOOD, "sku": "A" * 33}, "a 33-character sku"),
    ({**GOOD, "sku": "KB 001"}, "a sku with a space"),
    ({**GOOD, "sku": "KB_001"}, "a sku with an underscore"),
    ({**GOOD, "sku": "KB-1'; DROP TABLE products;--"}, "a sku with SQL in it"),
    ({**GOOD, "sku": "KB-001\n"}, "a sku ending in a newline"),
    ({**GOOD, "price_cents": -1}, "a negative price_cents"),
    ({**GOOD, "tags": [f"t{i}" for i in range(11)]}, "11 tags"),
    ({**GOOD, "tags": ["usb", "input", "usb"]}, "duplicate tags"),
    ({k: v for k, v in GOOD.items() if k != "name"}, "no name"),
    ({k: v for k, v in GOOD.items() if k != "price_cents"}, "no price_cents"),
]


async def test_invalid_bodies_are_422_and_store_nothing(sub, db):
    app = await _app(sub, db)
    async with web.asgi_client(app) as client:
        for body, what in INVALID_CREATES:
            r = await _call(client, "POST", "/products", body)
            expect(
                r.status_code == 422,
                _show("POST", "/products", body, r)
                + f"\n  expected 422 for {what}. "
                + LESSON.format(
                    "Constraints on fields" if what != "an unknown field" else "Rejecting unknown fields"
                ),
            )
        rows = await _rows(db)
        expect(not rows, f"After only invalid requests the products table holds {rows}; expected nothing.")
        # The limits themselves are allowed.
        edge = {**GOOD, "sku": "A-" + "9" * 30, "price_cents": 0, "tags": [f"t{i}" for i in range(10)]}
        r = await _call(client, "POST", "/products", edge)
        expect(
            r.status_code == 201,
            _show("POST", "/products", edge, r)
            + "\n  expected 201: a 32-character sku, a price of 0 and 10 distinct tags are all allowed.",
        )


async def test_hostile_input_is_stored_verbatim_or_rejected_never_a_500(sub, db):
    app = await _app(sub, db)
    sql = "x'); DROP TABLE products; --"
    async with web.asgi_client(app) as client:
        body = {
            "sku": "SQL-1",
            "name": sql,
            "price_cents": 1,
            "description": sql,
            "tags": [sql, "' OR 1=1 --"],
            "attributes": {sql: sql},
        }
        r = await _call(client, "POST", "/products", body)
        expect(
            r.status_code == 201,
            _show("POST", "/products", body, r)
            + "\n  expected 201: quotes and SQL in text fields are just text.",
        )
        rows = await _rows(db)
        expect(
            len(rows) == 1 and {k: rows[0][k] for k in body} == body,
            f"The table holds {rows}; expected the product stored exactly as sent.",
        )
        for bad in (
            {**GOOD, "price_cents": 10**12},
            {**GOOD, "price_cents": 2**31},
            {**GOOD, "tags": "usb"},
            {**GOOD, "attributes": [1, 2]},
        ):
            r = await _call(client, "POST", "/products", bad)
            expect(
                400 <= r.status_code < 500,
                _show("POST", "/products", bad, r)
                + "\n  expected a 4xx (the column is a 32-bit integer; the types are wrong): input must never cause a 500. "
                + LESSON.format("Constraints on fields"),
            )


async def test_patch_changes_exactly_the_fields_sent(sub, db):
    app = await _app(sub, db)
    async with web.asgi_client(app) as client:
        created = await _create(client, GOOD)
        url = f"/products/{created['id']}"
        expected = dict(GOOD)
        steps = [
            {"name": "Quiet keyboard"},
            {"price_cents": 0},
            {"tags": []},
            {"description": ""},
            {"attributes": {}},
            {"sku": "KB-009", "tags": ["new"]},
            {},
        ]
        for change in steps:
            r = await _call(client, "PATCH", url, change)
            expected.update(change)
            context = _show("PATCH", url, change, r)
            expect(
                r.status_code == 200,
                f"{context}\n  expected 200. " + LESSON.format("PATCH: the fields that were sent"),
            )
            price = f"{expected['price_cents'] // 100}.{expected['price_cents'] % 100:02d}"
            _expect_product(_json(r), {**expected, "price": price}, context)
            rows = await _rows(db)
            stored = {k: rows[0][k] for k in GOOD} if rows else None
            expect(
                stored == expected,
                f"{context}\n  the row now holds {stored}\n  expected {expected}: PATCH changes exactly the fields sent, "
                'also to falsy values (0, "", [], {}), and leaves the others alone. '
                + LESSON.format("PATCH: the fields that were sent"),
            )


async def test_patch_to_a_taken_sku_is_a_4xx_and_changes_nothing(sub, db):
    app = await _app(sub, db)
    async with web.asgi_client(app) as client:
        await _create(client, GOOD)
        other = await _create(client, {**GOOD, "sku": "KB-002", "name": "Other"})
        url, change = f"/products/{other['id']}", {"sku": GOOD["sku"], "name": "Renamed"}
        r = await _call(client, "PATCH", url, change)
        expect(
            400 <= r.status_code < 500,
            _show("PATCH", url, change, r)
            + "\n  expected 409 (a 4xx in any case): that sku belongs to another product. "
            + LESSON.format("PATCH: the fields that were sent"),
        )
        rows = await _rows(db)
        expect(
            [(x["sku"], x["name"]) for x in rows] == [("KB-001", "Keyboard"), ("KB-002", "Other")],
            f"After the rejected PATCH the table holds {[(x['sku'], x['name']) for x in rows]}; expected both products unchanged.",
        )
        r = await _call(client, "GET", url)
        expect(
            r.status_code == 200,
            _show("GET", url, None, r) + "\n  expected 200: the app must still work after a conflict.",
        )


async def test_patch_rejects_null_unknown_and_invalid_fields(sub, db):
    app = await _app(sub, db)
    async with web.asgi_client(app) as client:
        created = await _create(client, GOOD)
        url = f"/products/{created['id']}"
        bad = [
            {"name": None},
            {"price_cents": None},
            {"sku": None},
            {"tags": None},
            {"description": None},
            {"attributes": None},
            {"name": "Fine", "price_cents": None},
            {"price_cents": -5},
            {"sku": "lower"},
            {"tags": ["a", "a"]},
            {"name": "Fine", "id": 99},
            {"color": "red"},
        ]
        for change in bad:
            r = await _call(client, "PATCH", url, change)
            expect(
                r.status_code == 422,
                _show("PATCH", url, change, r)
                + "\n  expected 422: `null` for a field that cannot be null, an unknown field or an invalid value is rejected, "
                "never skipped and never a 500. " + LESSON.format("PATCH: the fields that were sent"),
            )
        rows = await _rows(db)
        stored = {k: rows[0][k] for k in GOOD} if rows else None
        expect(
            stored == GOOD,
            f"After only rejected PATCHes the row holds {stored}; expected it unchanged: {GOOD}.",
        )


async def test_unknown_and_out_of_range_ids_are_404_or_422_never_500(sub, db):
    app = await _app(sub, db)
    async with web.asgi_client(app) as client:
        created = await _create(client, GOOD)
        for method in ("GET", "PATCH"):
            body = {"name": "x"} if method == "PATCH" else None
            url = f"/products/{created['id'] + 1000}"
            r = await _call(client, method, url, body)
            expect(
                r.status_code == 404,
                _show(method, url, body, r) + "\n  expected 404: no product has that id.",
            )
            for raw in ("2147483648", "99999999999999999999999", "-1", "0"):
                url = f"/products/{raw}"
                r = await _call(client, method, url, body)
                expect(
                    r.status_code in (404, 422),
                    _show(method, url, body, r)
                    + "\n  expected 404 or 422: an id outside the integer column's range must not reach the database as is. "
                    + LESSON.format("Validating path parameters"),
                )
            url = "/products/abc"
            r = await _call(client, method, url, body)
            expect(
                r.status_code == 422,
                _show(method, url, body, r) + "\n  expected 422 for an id that is not an integer.",
            )
        rows = await _rows(db)
        expect(
            rows and rows[0]["name"] == GOOD["name"],
            f"The table holds {rows}; expected the product untouched.",
        )


async def test_models_can_be_used_directly(sub, db):
    await _app(sub, db)
    update = sub.ProductUpdate(name="x")
    dumped = update.model_dump(exclude_unset=True)
    expect(
        dumped == {"name": "x"},
        f"ProductUpdate(name='x').model_dump(exclude_unset=True) gave {dumped}; expected {{'name': 'x'}}. "
        + LESSON.format("PATCH: the fields that were sent"),
    )
    create = sub.ProductCreate(sku="A-1", name="A", price_cents=1)
    dumped = create.model_dump()
    expect(
        {"sku", "name", "price_cents", "description", "tags", "attributes"} <= set(dumped),
        f"ProductCreate(sku='A-1', name='A', price_cents=1).model_dump() gave {dumped}; expected all six fields.",
    )
