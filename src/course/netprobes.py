"""A local HTTP server that counts what reaches it: TCP connections accepted and open, requests in flight.

Checkers of HTTP clients and of apps that call an upstream start one on 127.0.0.1 (never anything else),
hand its URL to the submission, and judge connection reuse and concurrency from the server's side:

    async with Upstream(handler) as upstream:
        ...  # the submission calls upstream.url
        upstream.connections_total, upstream.connections_open, upstream.peak_in_flight

Connections are counted in the aiohttp server's own connection hooks (one call per accepted socket, one
when it is gone), so keep-alive reuse shows as many requests over few connections.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class _CountingServer(web.Server):
    """aiohttp's low-level server, reporting each accepted and each lost connection to the probe."""

    def __init__(self, handler: Handler, probe: Upstream, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._probe = probe

    def connection_made(self, handler: Any, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._probe._change_connections(+1)

    def connection_lost(self, handler: Any, exc: BaseException | None) -> None:
        super().connection_lost(handler, exc)
        self._probe._change_connections(-1)


class Upstream:
    """An aiohttp server on a free loopback port running `handler`, with counters seen from the server.

    `connections_total`: TCP connections accepted since start; `connections_open`: open now (and
    `peak_connections`); `in_flight`/`peak_in_flight`: requests whose handler is running; `requests`: handled
    so far; `paths`: the request paths in arrival order. `changed` is set on every change (for waiting).
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.connections_total = 0
        self.connections_open = 0
        self.peak_connections = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.requests = 0
        self.paths: list[str] = []
        self.arrivals: list[float] = []
        self.changed = asyncio.Event()
        self._runner: web.ServerRunner | None = None
        self.url = ""

    def _change_connections(self, delta: int) -> None:
        self.connections_open += delta
        if delta > 0:
            self.connections_total += delta
        self.peak_connections = max(self.peak_connections, self.connections_open)
        self.changed.set()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self.requests += 1
        self.paths.append(request.path_qs)
        self.arrivals.append(time.monotonic())
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        self.changed.set()
        try:
            return await self._handler(request)
        finally:
            self.in_flight -= 1
            self.changed.set()

    def reset_peaks(self) -> None:
        self.peak_in_flight = self.in_flight
        self.peak_connections = self.connections_open

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until `predicate()` holds (re-tested on every change) or `timeout` passes."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            return predicate()
        return True

    async def __aenter__(self) -> Upstream:
        server = _CountingServer(self._handle, self, handler_cancellation=True)
        self._runner = web.ServerRunner(server, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
