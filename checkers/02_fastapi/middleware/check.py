"""Checks for fastapi/middleware: `add_middleware(app, cors_origins=...)` and `current_request_id()`.

The checker builds its own FastAPI app (routes that answer, raise, stream, wait for each other and start
tasks), lets the submission add its middleware, and serves it with a real uvicorn server on a loopback
port: request-scoped state and streaming only mean something on a real server (asgi-lifespan shares one
state dict between requests and ASGITransport buffers the body). Access-log records are captured by a
logging.Handler attached to `app.access`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from course import web
from course.checking import expect, fail

REQUIRES = {
    "add_middleware": "def add_middleware(app: FastAPI, *, cors_origins: list[str]) -> None",
    "current_request_id": "def current_request_id() -> str | None",
}
LESSON = "See notebook 02_fastapi/04, '{}'."
GOOD_ORIGIN = "https://shop.example"
BAD_ORIGIN = "https://evil.example"
TIME_FORMAT = re.compile(r"\d+(\.\d+)?s")
# Snapshotted before the submission is imported: what the checks observe through must be the real thing.
_GUARDED = {
    "httpx.AsyncClient.send": httpx.AsyncClient.send,
    "httpx.AsyncHTTPTransport.handle_async_request": httpx.AsyncHTTPTransport.handle_async_request,
    "logging.Logger.callHandlers": logging.Logger.callHandlers,
    "logging.Logger.handle": logging.Logger.handle,
}
_OWNERS = {
    "httpx.AsyncClient": httpx.AsyncClient,
    "httpx.AsyncHTTPTransport": httpx.AsyncHTTPTransport,
    "logging.Logger": logging.Logger,
}


def _untouched() -> None:
    for label, original in _GUARDED.items():
        owner, name = label.rsplit(".", 1)
        if getattr(_OWNERS[owner], name) is not original:
            fail(
                f"Your code replaced {label}: the checks cannot trust what they observe. Do not monkeypatch libraries."
            )


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def for_id(self, request_id: str) -> list[logging.LogRecord]:
        return [r for r in self.records if getattr(r, "request_id", None) == request_id]


class Harness:
    """The checker's app with the submission's middleware, its probes and the captured access log."""

    def __init__(self, sub: Any) -> None:
        self.sub = sub
        self.gate = asyncio.Event()  # the checker opens it to let the stream finish
        self.arrived = 0
        self.all_arrived = asyncio.Event()
        self.expected_concurrent = 0
        self.options_calls = 0
        self.handler_calls = 0
        self.app = self._build()
        self.log = Capture()

    def _build(self) -> FastAPI:
        app = FastAPI()
        sub = self.sub

        @app.get("/items/{n}")
        async def item(n: int, request: Request) -> dict:
            self.handler_calls += 1
            return {
                "n": n,
                "id": sub.current_request_id(),
                "state": getattr(request.state, "request_id", None),
            }

        @app.options("/items/{n}")
        async def item_options(n: int) -> dict:
            self.options_calls += 1
            return {"reached": True}

        @app.post("/items")
        async def create_item(body: dict) -> dict:
            return {"got": body, "id": sub.current_request_id()}

        @app.get("/tasks")
        async def tasks() -> dict:
            async def child() -> str | None:
                await asyncio.sleep(0)
                return sub.current_request_id()

            task = asyncio.create_task(child())
            async with asyncio.TaskGroup() as group:
                grouped = group.create_task(child())
            return {"id": sub.current_request_id(), "task": await task, "group": grouped.result()}

        @app.get("/together/{n}")
        async def together(n: int) -> dict:
            before = sub.current_request_id()
            self.arrived += 1
            if self.arrived >= self.expected_concurrent:
                self.all_arrived.set()
            with contextlib.suppress(TimeoutError):
                # Every request waits here until all have arrived, so that they truly overlap.
                await asyncio.wait_for(self.all_arrived.wait(), 5)
            await asyncio.sleep(0.01 * (n % 3))
            return {"before": before, "after": sub.current_request_id()}

        @app.get("/boom")
        async def boom() -> dict:
            raise RuntimeError("the handler failed")

        @app.get("/stream")
        async def stream() -> StreamingResponse:
            async def chunks() -> AsyncIterator[bytes]:
                yield b"first chunk\n"
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.gate.wait(), 5)  # bounded, so that nothing can hang
                yield b"last chunk\n"

            return StreamingResponse(chunks(), media_type="text/plain")

        result = sub.add_middleware(app, cors_origins=[GOOD_ORIGIN])
        expect(
            result is None,
            f"add_middleware(app, cors_origins=[...]) returned {result!r}; it changes the app in place and returns None.",
        )
        return app

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[httpx.AsyncClient]:
        logger = logging.getLogger("app.access")
        old_level = logger.level
        logger.addHandler(self.log)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)  # the root logger's WARNING would drop the INFO records
        try:
            async with web.serve(self.app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
                yield client
        finally:
            logger.removeHandler(self.log)
            logger.setLevel(old_level)
        _untouched()


def _show(method: str, url: str, headers: dict, response: httpx.Response) -> str:
    sent = f"{method} {url}" + (f" with headers {headers}" if headers else "")
    shown = {k: v for k, v in response.headers.items() if k.lower().startswith(("x-", "access-control"))}
    text = response.text[:200] if hasattr(response, "_content") else "<streamed body>"
    return f"Sent {sent}\n  got {response.status_code} {text!r} with headers {shown}"


def _json(r: httpx.Response) -> dict:
    """The body as a dict, or {} when it is not a JSON object (the message then shows the raw text)."""
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _is_uuid4(value: str | None) -> bool:
    try:
        return value is not None and uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


async def test_every_response_carries_a_request_id_and_a_response_time(sub):
    expect(
        sub.current_request_id() is None,
        f"current_request_id() outside any request returned {sub.current_request_id()!r}; expected None.",
    )
    h = Harness(sub)
    seen: list[str] = []
    async with h.running() as client:
        for method, url, body, status in [
            ("GET", "/items/1", None, 200),
            ("POST", "/items", {"a": 1}, 200),
            ("GET", "/nowhere", None, 404),
            ("GET", "/items/not-a-number", None, 422),
            ("GET", "/boom", None, 500),
        ]:
            r = await client.request(method, url, json=body)
            context = _show(method, url, {}, r)
            expect(r.status_code == status, f"{context}\n  expected {status}.")
            rid = r.headers.get("x-request-id")
            expect(
                _is_uuid4(rid),
                f"{context}\n  expected an X-Request-ID header holding a new UUID4 (none was sent), on every response "
                "including 404, 422 and the 500 of a handler that raised. " + LESSON.format("Request ids"),
            )
            seen.append(rid)
            timing = r.headers.get("x-response-time", "")
            expect(
                TIME_FORMAT.fullmatch(timing) is not None,
                f"{context}\n  expected X-Response-Time in seconds like '0.0123s', got {timing!r}. "
                + LESSON.format("Timing requests"),
            )
    expect(
        len(set(seen)) == len(seen),
        f"The request ids of five requests were {seen}; expected a new one each time.",
    )
    expect(
        sub.current_request_id() is None,
        f"After the requests, current_request_id() outside any request returned {sub.current_request_id()!r}; expected None.",
    )


async def test_a_valid_client_id_is_kept_and_an_invalid_one_replaced(sub):
    h = Harness(sub)
    async with h.running() as client:
        for sent in ["abc", "req-1_2.3", "A" * 64, "0", "f47ac10b-58cc-4372-a567-0e02b2c3d479"]:
            r = await client.get("/items/1", headers={"X-Request-ID": sent})
            got = r.headers.get("x-request-id")
            expect(
                got == sent and _json(r).get("id") == sent,
                _show("GET", "/items/1", {"X-Request-ID": sent}, r)
                + f"\n  expected the client's valid id {sent!r} back, in the header and in current_request_id(). "
                + LESSON.format("Request ids"),
            )
        for sent in [
            "A" * 65,
            "has space",
            "<script>alert(1)</script>",
            "a/b",
            "",
            "id;drop table",
            "a\tb",
            "..%2F",
        ]:
            r = await client.get("/items/1", headers={"X-Request-ID": sent})
            got = r.headers.get("x-request-id")
            expect(
                _is_uuid4(got) and _json(r).get("id") == got,
                _show("GET", "/items/1", {"X-Request-ID": sent}, r)
                + "\n  expected the invalid id to be replaced by a new UUID4 (valid: 1 to 64 letters, digits, '-', '_', '.'), "
                "the same in the header and in current_request_id(). " + LESSON.format("Request ids"),
            )


async def test_the_handler_its_tasks_and_request_state_see_the_id(sub):
    h = Harness(sub)
    async with h.running() as client:
        r = await client.get("/items/7", headers={"X-Request-ID": "state-check"})
        body = _json(r)
        expect(
            body.get("id") == "state-check" and body.get("state") == "state-check",
            _show("GET", "/items/7", {"X-Request-ID": "state-check"}, r)
            + "\n  expected current_request_id() and request.state.request_id to both be 'state-check' in the handler. "
            + LESSON.format("Request-scoped state with contextvars"),
        )
        r = await client.get("/tasks", headers={"X-Request-ID": "tasks-check"})
        body = _json(r)
        expect(
            body == {"id": "tasks-check", "task": "tasks-check", "group": "tasks-check"},
            _show("GET", "/tasks", {"X-Request-ID": "tasks-check"}, r)
            + "\n  expected the id in the handler and in the tasks it started (create_task, TaskGroup). "
            + LESSON.format("Request-scoped state with contextvars"),
        )
    expect(
        sub.current_request_id() is None,
        f"After the requests, current_request_id() outside any request returned {sub.current_request_id()!r}; expected None.",
    )


async def test_concurrent_requests_keep_their_own_ids(sub):
    h = Harness(sub)
    n = 8
    h.expected_concurrent = n
    async with h.running() as client:
        ids = [f"concurrent-{i}" for i in range(n)]
        responses = await asyncio.gather(
            *(client.get(f"/together/{i}", headers={"X-Request-ID": rid}) for i, rid in enumerate(ids))
        )
        expect(
            h.all_arrived.is_set(),
            f"Only {h.arrived} of {n} concurrent requests reached the handler together.",
        )
        for rid, r in zip(ids, responses, strict=True):
            body = _json(r)
            expect(
                r.headers.get("x-request-id") == rid and body == {"before": rid, "after": rid},
                f"{n} requests ran at once, each with its own X-Request-ID.\n  "
                + _show("GET", "/together/..", {"X-Request-ID": rid}, r)
                + f"\n  expected {rid!r} everywhere: a request id kept in a global is overwritten by the next request. "
                + LESSON.format("Request-scoped state with contextvars"),
            )
            records = h.log.for_id(rid)
            expect(
                len(records) == 1,
                f"The access log holds {len(records)} records with request_id {rid!r}; expected exactly one.",
            )
    expect(
        sub.current_request_id() is None,
        f"After the requests, current_request_id() outside any request returned {sub.current_request_id()!r}; expected None.",
    )


async def test_one_access_log_record_per_request_with_its_attributes(sub):
    h = Harness(sub)
    async with h.running() as client:
        for url, status in [("/items/3", 200), ("/nowhere?x=1", 404), ("/items/oops", 422), ("/boom", 500)]:
            before = len(h.log.records)
            r = await client.get(url)
            rid = r.headers.get("x-request-id")
            await asyncio.sleep(0.05)  # a record written just after the response was sent
            new = h.log.records[before:]
            context = _show("GET", url, {}, r)
            mine = [x for x in new if getattr(x, "request_id", None) == rid]
            expect(
                len(mine) == 1,
                f"{context}\n  the logger 'app.access' received {len(new)} record(s) for it: "
                f"{[{'msg': x.getMessage(), 'request_id': getattr(x, 'request_id', '<missing>')} for x in new]}\n"
                f"  expected exactly one with request_id = {rid!r} (also when the handler raised; a logging middleware "
                "outside the one that sets the id logs without it). "
                + LESSON.format("The order of the middleware stack"),
            )
            rec = mine[0]
            path = url.split("?")[0]
            attrs = {
                k: getattr(rec, k, "<missing>") for k in ("method", "path", "status_code", "duration_ms")
            }
            expect(
                rec.levelno == logging.INFO
                and attrs["method"] == "GET"
                and attrs["path"] == path
                and attrs["status_code"] == status
                and isinstance(attrs["duration_ms"], (int, float))
                and not isinstance(attrs["duration_ms"], bool)
                and attrs["duration_ms"] >= 0,
                f"{context}\n  the access-log record has level {rec.levelname} and {attrs}\n"
                f"  expected INFO with method 'GET', path {path!r}, status_code {status} (an int) and duration_ms a number >= 0. "
                + LESSON.format("Access logs"),
            )


async def test_cors_is_the_outermost_layer(sub):
    h = Harness(sub)
    async with h.running() as client:
        for url, status in [("/items/1", 200), ("/boom", 500), ("/nowhere", 404)]:
            headers = {"Origin": GOOD_ORIGIN}
            r = await client.get(url, headers=headers)
            context = _show("GET", url, headers, r)
            expect(
                r.status_code == status
                and r.headers.get("access-control-allow-origin") in (GOOD_ORIGIN, "*"),
                f"{context}\n  expected {status} with Access-Control-Allow-Origin for the allowed origin; on the 500 it is missing "
                "when CORS is not the outermost layer or the 500 is produced outside it. "
                + LESSON.format("The order of the middleware stack"),
            )
            exposed = {
                v.strip().lower() for v in r.headers.get("access-control-expose-headers", "").split(",")
            }
            expect(
                {"x-request-id", "x-response-time"} <= exposed and r.headers.get("x-request-id"),
                f"{context}\n  expected Access-Control-Expose-Headers to list X-Request-ID and X-Response-Time, and the id itself. "
                + LESSON.format("CORS"),
            )
        headers = {"Origin": BAD_ORIGIN}
        r = await client.get("/items/1", headers=headers)
        expect(
            "access-control-allow-origin" not in r.headers,
            _show("GET", "/items/1", headers, r)
            + "\n  expected no Access-Control-Allow-Origin for an origin not in cors_origins. "
            + LESSON.format("CORS"),
        )
        calls = (h.options_calls, h.handler_calls)
        headers = {"Origin": GOOD_ORIGIN, "Access-Control-Request-Method": "GET"}
        r = await client.options("/items/1", headers=headers)
        expect(
            200 <= r.status_code < 300
            and r.headers.get("access-control-allow-origin") in (GOOD_ORIGIN, "*")
            and "GET" in r.headers.get("access-control-allow-methods", "").upper().replace("*", "GET"),
            _show("OPTIONS", "/items/1", headers, r)
            + "\n  expected a successful preflight answer with Access-Control-Allow-Origin "
            "and Access-Control-Allow-Methods. " + LESSON.format("CORS"),
        )
        headers = {"Origin": BAD_ORIGIN, "Access-Control-Request-Method": "GET"}
        r = await client.options("/items/1", headers=headers)
        expect(
            "access-control-allow-origin" not in r.headers,
            _show("OPTIONS", "/items/1", headers, r)
            + "\n  expected no Access-Control-Allow-Origin on a preflight from an origin not allowed.",
        )
        expect(
            (h.options_calls, h.handler_calls) == calls,
            f"Two CORS preflights (OPTIONS with Origin and Access-Control-Request-Method) reached the app's routes "
            f"({h.options_calls - calls[0]} OPTIONS handler calls); expected the CORS layer to answer them. "
            + LESSON.format("The order of the middleware stack"),
        )


async def test_streaming_responses_are_not_buffered(sub):
    h = Harness(sub)
    async with h.running() as client:
        first_seen = asyncio.Event()
        seen: dict[str, Any] = {}

        async def consume() -> None:
            async with client.stream("GET", "/stream") as r:
                seen["response"] = r
                chunks = r.aiter_raw()
                seen["first"] = await anext(chunks, b"")
                seen["gate_was_open"] = h.gate.is_set()
                first_seen.set()
                seen["rest"] = b"".join([c async for c in chunks])

        task = asyncio.create_task(consume())
        # The stream cannot end before the checker opens the gate. 3 s is far above the few ms that the headers
        # and the first chunk take on a loaded machine; the handler itself stops waiting after 5 s.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(first_seen.wait()), 3)
        arrived_in_time = first_seen.is_set()
        h.gate.set()
        await asyncio.wait_for(task, 10)
        r = seen["response"]
        expect(r.status_code == 200, _show("GET", "/stream", {}, r) + "\n  expected 200.")
        expect(
            arrived_in_time and not seen["gate_was_open"] and seen["first"].startswith(b"first chunk"),
            "GET /stream: the handler streams 'first chunk', then waits for the checker before 'last chunk'.\n"
            f"  within 3 s the client received {'its first chunk' if arrived_in_time else 'nothing (not even the headers)'}; "
            "expected the first chunk before the stream ends: a middleware that reads the whole body buffers the "
            "stream. " + LESSON.format("Middleware and streaming responses"),
        )
        expect(
            r.headers.get("x-request-id"),
            _show("GET", "/stream", {}, r) + "\n  expected X-Request-ID on a streaming response too.",
        )
        body = seen["first"] + seen["rest"]
        expect(b"last chunk" in body, f"GET /stream: received {body!r}; expected both chunks.")
