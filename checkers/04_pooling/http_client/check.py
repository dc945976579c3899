"""Checks for pooling/http_client: `UpstreamClient(base_url, *, limit, limit_per_host, timeout)`.

Everything is judged from the side of a local aiohttp server on 127.0.0.1 that the checker starts
(`course.netprobes.Upstream`): TCP connections it accepted and still has open, requests in flight in its
handler (held on an event the checker releases), what it answered. Load is bounded (200 requests at most).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
from aiohttp import web

from course.checking import describe, expect, fail, flatten, raises
from course.netprobes import Upstream

REQUIRES = {"UpstreamClient": "class UpstreamClient(base_url, *, limit, limit_per_host, timeout)"}
LESSON = "See notebook 04_pooling/03, '{}'."


class Routes:
    """The upstream's behaviour: `/items/N` answers `{"id": N}`, other paths as configured by the check."""

    def __init__(self) -> None:
        self.gate: asyncio.Event | None = None  # when set to an Event, /items/ requests wait for it
        self.released = asyncio.Event()  # the end of the check: slow handlers give up

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if path.startswith("/items/"):
            if self.gate is not None:
                await self.gate.wait()
            n = int(path.rsplit("/", 1)[1])
            if n % 7 == 3:  # some answers later than the ones after them: order must come from the input
                await asyncio.sleep(0.01)
            return web.json_response({"id": n})
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            if code == 503:
                return web.Response(status=code, text="upstream down, try later")
            return web.json_response({"error": "nope", "id": 1}, status=code)
        if path == "/slow":
            await self.released.wait()
            return web.json_response({"slow": True})
        if path == "/trickle":
            # Headers at once, then a byte of a valid JSON body every 0.1 s for about 3 s: no single read
            # waits long, only the total duration is too long.
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            body = json.dumps({"pad": " " * 30}).encode()
            for i in range(len(body)):
                await response.write(body[i : i + 1])
                await asyncio.sleep(0.1)
            await response.write_eof()
            return response
        return web.json_response({"error": "unknown path"}, status=404)


async def test_get_json_returns_the_decoded_body(sub):
    routes = Routes()
    async with Upstream(routes) as upstream:
        async with sub.UpstreamClient(upstream.url) as client:
            got = await client.get_json("/items/42")
    expect(
        got == {"id": 42},
        f"get_json('/items/42') against a server answering 200 {{\"id\": 42}} returned {got!r}; expected the "
        "decoded JSON body, {'id': 42}.",
    )


async def test_get_many_returns_results_in_input_order(sub):
    routes = Routes()
    paths = [f"/items/{n}" for n in (5, 3, 17, 10, 24, 1, 0, 31)]
    async with Upstream(routes) as upstream:
        async with sub.UpstreamClient(upstream.url) as client:
            got = await client.get_many(paths)
            empty = await client.get_many([])
    wanted = [{"id": n} for n in (5, 3, 17, 10, 24, 1, 0, 31)]
    expect(
        list(got) == wanted,
        f"get_many({paths}) returned {got!r}; expected the results in input order: {wanted} (some answers "
        "arrive before those of earlier paths).",
    )
    expect(list(empty) == [], f"get_many([]) returned {empty!r}; expected [].")


async def test_connections_are_few_and_reused(sub):
    routes = Routes()
    async with Upstream(routes) as upstream:
        async with sub.UpstreamClient(upstream.url, limit=100, limit_per_host=4, timeout=10.0) as client:
            results: list[Any] = []
            for batch in range(5):  # 200 requests over 5 calls: the connections must survive between calls
                results += await client.get_many([f"/items/{batch * 40 + i}" for i in range(40)])
    expect(
        [r.get("id") if isinstance(r, dict) else r for r in results] == list(range(200)),
        "Five get_many calls of 40 paths each did not return the 200 expected bodies in order.",
    )
    expect(
        upstream.connections_total <= 4,
        f"A client made with limit_per_host=4 sent 200 requests (5 get_many calls of 40) and the server "
        f"accepted {upstream.connections_total} TCP connections; expected at most 4 for the client's whole "
        "life, kept alive and reused from one call to the next. A ClientSession (or a connector) per request or "
        "per call opens new connections each time. " + LESSON.format("One session, one connector"),
    )


async def _peak_in_flight(sub: Any, *, limit: int, limit_per_host: int, n: int = 30) -> tuple[int, int]:
    """Start get_many over n gated paths; return (peak in flight while gated, requests answered)."""
    routes = Routes()
    routes.gate = asyncio.Event()
    bound = min(limit, limit_per_host)
    async with Upstream(routes) as upstream:
        async with sub.UpstreamClient(
            upstream.url, limit=limit, limit_per_host=limit_per_host, timeout=10.0
        ) as client:
            task = asyncio.create_task(client.get_many([f"/items/{i}" for i in range(n)]))
            # Wait for the bound to be reached, then a little more: a client without a bound keeps adding
            # requests in that time (30 loopback requests arrive within milliseconds; 0.3 s is ample).
            await upstream.wait_for(lambda: upstream.in_flight >= bound or task.done(), 3.0)
            await asyncio.sleep(0.3)
            if task.done():
                task.result()  # a stub's NotImplementedError, or what the client raised
            peak = upstream.peak_in_flight
            routes.gate.set()
            results = await asyncio.wait_for(task, 5.0)
    return peak, len(results)


async def test_in_flight_requests_stay_within_limit_per_host(sub):
    peak, answered = await _peak_in_flight(sub, limit=100, limit_per_host=5)
    expect(
        peak <= 5,
        f"get_many over 30 paths with limit=100, limit_per_host=5: the server saw {peak} requests in flight "
        "at once; expected at most 5. The connector's limit_per_host is the bound: limit=0 or "
        "limit_per_host=0 means no bound at all. " + LESSON.format("Limits of a TCPConnector"),
    )
    expect(
        peak == 5,
        f"get_many over 30 paths with limit_per_host=5: the server saw at most {peak} request(s) in flight "
        "at once; expected 5, the connector's bound: get_many must run the requests concurrently. "
        + LESSON.format("Limits of a TCPConnector"),
    )
    expect(answered == 30, f"get_many over 30 paths returned {answered} results; expected 30.")


async def test_in_flight_requests_stay_within_limit_when_it_is_smaller(sub):
    peak, answered = await _peak_in_flight(sub, limit=3, limit_per_host=10)
    expect(
        peak <= 3,
        f"get_many over 30 paths with limit=3, limit_per_host=10: the server saw {peak} requests in flight "
        "at once; expected at most 3: `limit` bounds the whole connector, whatever the host. "
        + LESSON.format("Limits of a TCPConnector"),
    )
    expect(
        peak == 3,
        f"get_many over 30 paths with limit=3: at most {peak} request(s) were in flight at once; expected 3, "
        "concurrent requests up to the bound.",
    )
    expect(answered == 30, f"get_many over 30 paths returned {answered} results; expected 30.")


async def _timed_call(client: Any, path: str, cap: float) -> tuple[BaseException | None, float, bool]:
    """(what get_json raised, seconds it took, whether the checker had to give up after `cap` seconds)."""
    started = time.monotonic()
    task = asyncio.ensure_future(raises(client.get_json(path)))
    done, _ = await asyncio.wait({task}, timeout=cap)
    took = time.monotonic() - started
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
        return None, took, True
    return task.result(), took, False


async def test_a_slow_endpoint_raises_timeout_error(sub):
    routes = Routes()
    try:
        async with Upstream(routes) as upstream:
            async with sub.UpstreamClient(upstream.url, timeout=0.5) as client:
                for path, what in (
                    ("/slow", "never answers"),
                    ("/trickle", "sends its body one byte every 0.1 s, for about 3 s in total"),
                ):
                    # The checker gives up at 2.5 s: five times the timeout, room for a busy machine.
                    exc, took, gave_up = await _timed_call(client, path, 2.5)
                    if gave_up:
                        fail(
                            f"With timeout=0.5, get_json('{path}') on an endpoint that {what} was still "
                            f"waiting after {took:.1f} s. `timeout` is the total time of a call: "
                            "aiohttp.ClientTimeout(total=timeout) on the session. "
                            + LESSON.format("Timeouts: total versus per read")
                        )
                    expect(
                        isinstance(exc, TimeoutError),
                        f"With timeout=0.5, get_json('{path}') on an endpoint that {what} raised "
                        f"{describe(exc)} after {took:.1f} s; expected TimeoutError (asyncio.TimeoutError). "
                        + LESSON.format("Timeouts: total versus per read"),
                    )
    finally:
        routes.released.set()


async def test_an_error_status_raises_client_response_error(sub):
    routes = Routes()
    async with Upstream(routes) as upstream:
        async with sub.UpstreamClient(upstream.url) as client:
            for code, body in (
                (404, '{"error": "nope", "id": 1}'),
                (500, '{"error": "nope", "id": 1}'),
                (503, "upstream down, try later"),
            ):
                exc = await raises(client.get_json(f"/status/{code}"))
                expect(
                    isinstance(exc, aiohttp.ClientResponseError) and exc.status == code,
                    f"get_json('/status/{code}') on a server answering {code} with body {body} gave "
                    f"{describe(exc)}; expected aiohttp.ClientResponseError with status {code}, whatever the "
                    "body (a JSON error body is not a result). "
                    + LESSON.format("Errors are statuses, not bodies"),
                )
            exc = await raises(client.get_many(["/items/1", "/status/500", "/items/2"]))
            # A bare error (gather) or an ExceptionGroup around it (TaskGroup): both let the caller see it.
            expect(
                any(isinstance(e, aiohttp.ClientResponseError) and e.status == 500 for e in flatten(exc)),
                f"get_many(['/items/1', '/status/500', '/items/2']) gave {describe(exc)}; expected the "
                "ClientResponseError(status=500) of the failing path to propagate.",
            )


async def test_the_session_is_closed_after_the_async_with_block(sub):
    routes = Routes()
    async with Upstream(routes) as upstream:
        async with sub.UpstreamClient(upstream.url, limit_per_host=3) as client:
            await client.get_many([f"/items/{i}" for i in range(12)])
            opened = upstream.connections_open
        # aiohttp closes its sockets in close(); the server sees them go within milliseconds: 2 s is ample.
        closed = await upstream.wait_for(lambda: upstream.connections_open == 0, 2.0)
        expect(
            closed,
            f"After the `async with UpstreamClient(...)` block ended, the server still had "
            f"{upstream.connections_open} of the client's connections open ({opened} during the block); "
            "expected none: __aexit__ must close the session (await session.close()), which closes its "
            "connector. " + LESSON.format("One session, one connector"),
        )
