"""Checks for fastapi/problem_details: `DomainError` and its subclasses, and `install_problem_handlers(app)`.

The checker builds its own FastAPI app (routes that raise domain errors, HTTPExceptions, validation errors
and plain exceptions; subclasses of DomainError it defines itself after importing the submission), lets
the submission install its handlers, and drives the app with httpx over ASGI. Records on `app.errors` are
captured by a logging.Handler the checker attaches.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import httpx
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, field_validator

from course import web
from course.checking import expect, fail

REQUIRES = {
    "DomainError": "class DomainError(Exception)",
    "NotFoundError": "class NotFoundError(DomainError)",
    "ConflictError": "class ConflictError(DomainError)",
    "install_problem_handlers": "def install_problem_handlers(app: FastAPI) -> None",
}
LESSON = "See notebook 02_fastapi/04, '{}'."
PROBLEM = "application/problem+json"
# Snapshotted before the submission is imported: what the checks observe through must be the real thing.
_GUARDED = {
    "send": (httpx.AsyncClient, "send", httpx.AsyncClient.send),
    "handle_async_request": (
        httpx.ASGITransport,
        "handle_async_request",
        httpx.ASGITransport.handle_async_request,
    ),
    "callHandlers": (logging.Logger, "callHandlers", logging.Logger.callHandlers),
    "handle": (logging.Logger, "handle", logging.Logger.handle),
}


def _untouched() -> None:
    for owner, name, original in _GUARDED.values():
        if getattr(owner, name) is not original:
            fail(
                f"Your code replaced {owner.__name__}.{name}: the checks cannot trust what they observe. Do not monkeypatch libraries."
            )


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Signup(BaseModel):
    name: str
    age: int

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value


class Harness:
    def __init__(self, sub: Any) -> None:
        self.sub = sub
        self.secret = f"password=hunter2-{secrets.token_hex(6)}"
        self.raised: list[BaseException] = []
        self.app = FastAPI()
        app = self.app

        def missing_product() -> None:
            raise sub.NotFoundError("product 42 does not exist")

        @app.get("/products/{n}")
        async def product(n: int) -> dict:
            raise sub.NotFoundError(f"product {n} does not exist")

        @app.post("/products")
        async def create_product() -> dict:
            raise sub.ConflictError("sku KB-001 is taken")

        @app.get("/from-dependency", dependencies=[Depends(missing_product)])
        async def from_dependency() -> dict:
            return {}

        @app.get("/me")
        async def me() -> dict:
            raise HTTPException(401, "missing token", headers={"WWW-Authenticate": "Bearer"})

        @app.get("/admin")
        async def admin() -> dict:
            raise HTTPException(403, "admins only")

        @app.post("/only-post")
        async def only_post() -> dict:
            return {}

        @app.get("/items/{n}")
        async def item(n: int, q: int) -> dict:
            return {"n": n, "q": q}

        @app.post("/signup")
        async def signup(body: Signup) -> dict:
            return body.model_dump()

        @app.get("/boom")
        async def boom() -> dict:
            exc = RuntimeError(f"could not connect with {self.secret}")
            self.raised.append(exc)
            raise exc

        @app.get("/key")
        async def key() -> dict:
            exc = KeyError(self.secret)
            self.raised.append(exc)
            raise exc

        result = sub.install_problem_handlers(app)
        expect(
            result is None,
            f"install_problem_handlers(app) returned {result!r}; it changes the app in place and returns None.",
        )

    async def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async with web.asgi_client(self.app) as client:
            response = await client.request(method, url, **kwargs)
        _untouched()
        return response


def _show(method: str, url: str, r: httpx.Response, body: Any = None) -> str:
    sent = f"{method} {url}" + (f" {json.dumps(body)}" if body is not None else "")
    return f"Sent {sent}\n  got {r.status_code} {r.headers.get('content-type')!r} {r.text[:400]}"


def _expect_problem(
    r: httpx.Response,
    context: str,
    status: int,
    path: str,
    title: str | None = None,
    detail: str | None = None,
) -> dict:
    expect(r.status_code == status, f"{context}\n  expected status {status}.")
    media = r.headers.get("content-type", "").split(";")[0].strip()
    expect(
        media == PROBLEM,
        f"{context}\n  expected the media type {PROBLEM!r}, got {media!r}. "
        + LESSON.format("Problem details (RFC 9457)"),
    )
    try:
        body = r.json()
    except ValueError:
        fail(f"{context}\n  expected a JSON problem document.")
    expect(isinstance(body, dict), f"{context}\n  expected a JSON object.")
    missing = [k for k in ("type", "title", "status", "detail", "instance") if k not in body]
    expect(
        not missing,
        f"{context}\n  the problem document lacks {missing}. " + LESSON.format("Problem details (RFC 9457)"),
    )
    expect(
        isinstance(body["type"], str) and body["type"],
        f'{context}\n  expected `type` to be a URI string ("about:blank" will do).',
    )
    expect(
        isinstance(body["title"], str) and body["title"],
        f"{context}\n  expected `title` to be a non-empty string.",
    )
    expect(
        body["status"] == status,
        f"{context}\n  expected `status` = {status} (the HTTP status, as a number), got {body['status']!r}.",
    )
    expect(
        isinstance(body["detail"], str),
        f"{context}\n  expected `detail` to be a string, got {body['detail']!r}.",
    )
    expect(
        body["instance"] == path,
        f"{context}\n  expected `instance` = {path!r} (the request path), got {body['instance']!r}.",
    )
    if title is not None:
        expect(
            body["title"] == title,
            f"{context}\n  expected `title` = {title!r} (the error class's title), got {body['title']!r}.",
        )
    if detail is not None:
        expect(
            body["detail"] == detail, f"{context}\n  expected `detail` = {detail!r}, got {body['detail']!r}."
        )
    return body


async def test_domain_errors_answer_problem_details(sub):
    h = Harness(sub)
    error = sub.NotFoundError("x")
    expect(
        error.detail == "x"
        and sub.NotFoundError.status == 404
        and sub.ConflictError.status == 409
        and isinstance(error, sub.DomainError)
        and isinstance(sub.ConflictError.title, str),
        f"NotFoundError('x').detail = {getattr(error, 'detail', '<missing>')!r}, NotFoundError.status = "
        f"{getattr(sub.NotFoundError, 'status', '<missing>')!r}, ConflictError.status = {getattr(sub.ConflictError, 'status', '<missing>')!r}; "
        "expected 'x', 404 and 409, with a `title` on each class. " + LESSON.format("Domain errors"),
    )
    for method, url, status, cls, detail in [
        ("GET", "/products/42", 404, sub.NotFoundError, "product 42 does not exist"),
        ("POST", "/products", 409, sub.ConflictError, "sku KB-001 is taken"),
        ("GET", "/from-dependency", 404, sub.NotFoundError, "product 42 does not exist"),
    ]:
        r = await h.call(method, url)
        _expect_problem(r, _show(method, url, r), status, url, title=cls.title, detail=detail)


async def test_subclasses_defined_later_answer_with_their_own_status_and_title(sub):
    h = Harness(sub)

    # Defined here, after the handlers were installed: the handlers must not list the classes they know.
    class PaymentRequired(sub.DomainError):
        status = 402
        title = "Payment required"

    class GoneProduct(sub.NotFoundError):
        status = 410
        title = "Product withdrawn"

    class MissingWarehouse(sub.NotFoundError):
        title = "No such warehouse"

    for cls, url, status in [
        (PaymentRequired, "/pay", 402),
        (GoneProduct, "/gone", 410),
        (MissingWarehouse, "/warehouse", 404),
    ]:

        def route(cls: type = cls) -> dict:
            raise cls(f"raised {cls.__name__}")

        h.app.add_api_route(url, route)
        r = await h.call("GET", url)
        _expect_problem(
            r,
            _show("GET", url, r)
            + f"\n  ({cls.__name__} subclasses {cls.__mro__[1].__name__} with status {status} and title {cls.title!r})",
            status,
            url,
            title=cls.title,
            detail=f"raised {cls.__name__}",
        )


async def test_http_exceptions_keep_their_status_detail_and_headers(sub):
    h = Harness(sub)
    r = await h.call("GET", "/me")
    _expect_problem(r, _show("GET", "/me", r), 401, "/me", detail="missing token")
    expect(
        r.headers.get("www-authenticate") == "Bearer",
        _show("GET", "/me", r)
        + f"\n  expected the header WWW-Authenticate: Bearer that the HTTPException carried, got "
        f"{r.headers.get('www-authenticate')!r}. " + LESSON.format("Keeping the headers of HTTPException"),
    )
    r = await h.call("GET", "/admin")
    _expect_problem(r, _show("GET", "/admin", r), 403, "/admin", detail="admins only")
    r = await h.call("GET", "/only-post")
    _expect_problem(r, _show("GET", "/only-post", r), 405, "/only-post")
    expect(
        "POST" in r.headers.get("allow", ""),
        _show("GET", "/only-post", r)
        + f"\n  expected the header Allow: POST of the 405, got {r.headers.get('allow')!r}. "
        + LESSON.format("Keeping the headers of HTTPException"),
    )
    r = await h.call("GET", "/no/such/route")
    _expect_problem(r, _show("GET", "/no/such/route", r), 404, "/no/such/route")


async def test_validation_errors_list_loc_and_msg(sub):
    h = Harness(sub)
    url = "/items/abc?q=x"
    r = await h.call("GET", url)
    body = _expect_problem(r, _show("GET", url, r), 422, "/items/abc")
    errors = body.get("errors")
    expect(
        isinstance(errors, list)
        and len(errors) == 2
        and all(
            isinstance(e, dict) and isinstance(e.get("loc"), list) and isinstance(e.get("msg"), str)
            for e in errors
        ),
        _show("GET", url, r)
        + '\n  expected `errors`: a list of two {"loc": [...], "msg": "..."} (the path\'s n and the query\'s q). '
        + LESSON.format("Validation errors as problem details"),
    )
    locs = sorted(tuple(e["loc"]) for e in errors)
    expect(
        locs == [("path", "n"), ("query", "q")],
        _show("GET", url, r) + f"\n  expected the locations ['path', 'n'] and ['query', 'q'], got {locs}.",
    )
    for payload in ({"name": "   ", "age": 3}, {"name": "Ada", "age": "old"}):
        r = await h.call("POST", "/signup", json=payload)
        context = _show("POST", "/signup", r, payload)
        body = _expect_problem(r, context, 422, "/signup")
        errors = body.get("errors")
        expect(
            isinstance(errors, list) and len(errors) == 1 and isinstance(errors[0], dict),
            f"{context}\n  expected `errors` with one entry. "
            + LESSON.format("Validation errors as problem details"),
        )
        field = "name" if payload["age"] == 3 else "age"
        expect(
            errors[0].get("loc") == ["body", field] and isinstance(errors[0].get("msg"), str),
            f"{context}\n  expected loc ['body', {field!r}] and a msg.",
        )
        if field == "name":
            expect(
                "name must not be blank" in errors[0]["msg"],
                f"{context}\n  expected the validator's message 'name must not be blank' in msg. "
                + LESSON.format("Validation errors as problem details"),
            )


async def test_unhandled_exceptions_answer_a_generic_500(sub):
    h = Harness(sub)
    for url in ("/boom", "/key"):
        r = await h.call("GET", url)
        context = _show("GET", url, r)
        _expect_problem(r, context, 500, url)
        leaked = h.secret in r.text or any(h.secret in v for v in r.headers.values()) or "hunter2" in r.text
        expect(
            not leaked,
            f"{context}\n  the handler raised an exception whose message holds a secret ({h.secret!r}); "
            "expected a generic detail that never contains the exception's text. "
            + LESSON.format("Never leak exception text"),
        )


async def test_unhandled_exceptions_are_logged_with_their_traceback(sub):
    h = Harness(sub)
    capture = Capture()
    logger = logging.getLogger("app.errors")
    logger.addHandler(capture)
    try:
        r = await h.call("GET", "/boom")
    finally:
        logger.removeHandler(capture)
    expect(r.status_code == 500, _show("GET", "/boom", r) + "\n  expected 500.")
    raised = h.raised[-1]
    with_tb = [
        rec
        for rec in capture.records
        if rec.levelno >= logging.ERROR
        and rec.exc_info
        and rec.exc_info[1] is raised
        and rec.exc_info[2] is not None
    ]
    expect(
        with_tb,
        f"GET /boom raised RuntimeError; logger 'app.errors' received {len(capture.records)} record(s): "
        f"{[(rec.levelname, rec.getMessage()[:80], bool(rec.exc_info)) for rec in capture.records]}\n"
        "  expected an ERROR record carrying that exception with its traceback (exc_info). "
        + LESSON.format("Logging what you do not show"),
    )
