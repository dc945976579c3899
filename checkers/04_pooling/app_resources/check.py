"""Checks for pooling/app_resources: `create_app(database_url, upstream_url)`.

The app runs under uvicorn in a process of its own on a loopback port; its upstream is a local aiohttp
server in the checker (`course.netprobes.Upstream`) that counts the TCP connections it accepts. Database
backends are counted in pg_stat_activity by the check's role (the checker's own observer excluded).
Load is bounded: at most 200 requests, 50 at a time, on loopback only.

Shutdown is judged while the app's process still lives: the process is sent SIGTERM, uvicorn runs the
lifespan's shutdown, then the process reports it and waits (a pool left open would otherwise be closed by
the OS when the process exits, and no one could see it).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
from aiohttp import web

from course.checking import Database, check_timeout, describe, expect, fail
from course.netprobes import Upstream
from course.web import free_port

REQUIRES = {"create_app": "def create_app(database_url, upstream_url)"}
LESSON = "See notebook 04_pooling/02, '{}'."
LIFESPAN = "One engine, one client, one lifespan"
POOL_BOUND = 40  # pool_size = recommend_pool_size(200, 0.05) = 20, and max_overflow <= pool_size
UPSTREAM_BOUND = 20  # UpstreamClient's default limit_per_host
RATES = {"EUR": 0.9, "USD": 1.1, "GBP": 0.79, "JPY": 161.3}
PRODUCTS = {"Q-1": 1999, "Q-2": 251, "Q-3": 123457, "Q-4": 1}

# Serves FACTORY(*ARGS) from the file at PATH like course.web, but after uvicorn's shutdown (lifespan
# included) prints a line and waits for stdin to close: whatever the app left open is still open then.
RUNNER = r"""
import asyncio, ctypes, importlib.util, json, signal, sys
sys.dont_write_bytecode = True  # no __pycache__ next to the learner's file
import uvicorn
try:  # Linux: die with the check's process, whatever happens to it (no orphan server left behind)
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)
except Exception:
    pass
path, args_json, port = sys.argv[1:4]
spec = importlib.util.spec_from_file_location("served_submission", path)
module = importlib.util.module_from_spec(spec)
sys.modules["served_submission"] = module
spec.loader.exec_module(module)
app = module.create_app(*json.loads(args_json))
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=int(port), log_level="warning", lifespan="on"))
# uvicorn re-raises the SIGTERM it handled once it is done: keep the process alive for the checker.
signal.signal(signal.SIGTERM, lambda *_: None)
asyncio.run(server.serve())
print("COURSE-SHUTDOWN-COMPLETE", flush=True)
sys.stdin.read()
"""


class Served:
    """The app in a child process: start, SIGTERM, observe after shutdown, then let it exit."""

    def __init__(self, path: str, database_url: str, upstream_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-c",
                RUNNER,
                path,
                json.dumps([database_url, upstream_url]),
                str(self.port),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ),
        )
        self.output: list[str] = []

    async def started(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    fail(
                        "The app's server exited during startup (create_app or the lifespan's startup failed):\n"
                        + (await asyncio.to_thread(self.process.stdout.read))[-1500:]
                    )
                try:
                    await client.get(self.url + "/__course_probe__", timeout=0.5)
                    return
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        fail(f"The app's server did not accept connections within {timeout:g} s.")

    async def shutdown(self, timeout: float = 8.0) -> bool:
        """SIGTERM, then wait until the lifespan's shutdown is over (True) or the process is gone."""
        self.process.send_signal(signal.SIGTERM)

        def wait_line() -> bool:
            for line in self.process.stdout:
                self.output.append(line)
                if line.strip() == "COURSE-SHUTDOWN-COMPLETE":
                    return True
            return False

        try:
            return await asyncio.wait_for(asyncio.to_thread(wait_line), timeout)
        except TimeoutError:
            return False

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(3)
            except Exception:  # noqa: BLE001 - whatever state it is in, it must go
                self.process.kill()
                self.process.wait()


class Rates:
    """The upstream: `/rates/{currency}`; ERR answers 500, XXX 404, SLOW answers after 1.5 s."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        currency = request.path.rsplit("/", 1)[-1]
        if not request.path.startswith("/rates/"):
            return web.json_response({"error": "not found"}, status=404)
        if currency == "ERR":
            return web.json_response({"error": "rates backend down"}, status=500)
        if currency == "SLOW":
            # Three times the app's 0.5 s timeout: an app without one answers 200 after 1.5 s.
            try:
                await asyncio.wait_for(self.stop.wait(), 1.5)
            except TimeoutError:
                pass
            return web.json_response({"rate": 1.0})
        if currency not in RATES:
            return web.json_response({"error": f"unknown currency {currency}"}, status=404)
        await asyncio.sleep(0.005)  # a little latency, so that requests overlap
        return web.json_response({"rate": RATES[currency]})


async def _seed(db: Database) -> None:
    observer = await db.observer()
    await observer.execute("TRUNCATE products RESTART IDENTITY CASCADE")
    await observer.executemany(
        "INSERT INTO products (sku, name, price_cents) VALUES ($1, $2, $3)",
        [(sku, f"product {sku}", price) for sku, price in PRODUCTS.items()],
    )


async def _backends(db: Database) -> int:
    """Connections of the check's role other than the observer: the app's."""
    observer = await db.observer()
    return await observer.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()"
    )


def _expected(sku: str, currency: str) -> dict[str, Any]:
    price, rate = PRODUCTS[sku], RATES[currency]
    return {
        "sku": sku,
        "currency": currency,
        "price_cents": price,
        "rate": rate,
        "converted_cents": round(price * rate),
    }


def _path_of(sub: Any) -> str:
    return inspect.getfile(sub.create_app)


async def _serve(sub: Any, db: Database, upstream: Upstream) -> Served:
    # Built once here first: a stub's NotImplementedError shows as "not attempted", a crash as its error.
    app = sub.create_app(db.sqlalchemy_url, upstream.url)
    expect(
        app is not None and callable(app),
        f"create_app(...) returned {app!r}; expected a FastAPI app.",
    )
    served = Served(_path_of(sub), db.sqlalchemy_url, upstream.url)
    try:
        await served.started()
    except BaseException:
        served.close()
        raise
    return served


@check_timeout(20)
async def test_quotes_are_right_and_failures_map_to_404_and_502(sub, db):
    await _seed(db)
    rates = Rates()
    async with Upstream(rates) as upstream:
        served = await _serve(sub, db, upstream)
        try:
            async with httpx.AsyncClient(base_url=served.url, timeout=10.0) as client:
                for path, sku, currency in (
                    ("/quote/Q-1?currency=USD", "Q-1", "USD"),
                    ("/quote/Q-3?currency=JPY", "Q-3", "JPY"),
                    ("/quote/Q-2", "Q-2", "EUR"),
                ):
                    response = await client.get(path)
                    body = _json(response)
                    expect(
                        response.status_code == 200 and body == _expected(sku, currency),
                        f"GET {path} answered {response.status_code} {response.text[:300]}; expected 200 "
                        f"{json.dumps(_expected(sku, currency))} (price_cents from the database, rate from "
                        "the upstream, converted_cents rounded to the nearest cent, EUR when no currency).",
                    )
                for path in ("/quote/NOPE?currency=USD", "/quote/Q-1'%20OR%20'1'='1?currency=USD"):
                    response = await client.get(path)
                    expect(
                        response.status_code == 404,
                        f"GET {path} (no such sku) answered {response.status_code} {response.text[:200]}; "
                        "expected 404.",
                    )
                for currency, what in (("ERR", "answers 500"), ("XXX", "answers 404")):
                    response = await client.get(f"/quote/Q-1?currency={currency}")
                    expect(
                        response.status_code == 502,
                        f"GET /quote/Q-1?currency={currency}, the upstream {what}: the app answered "
                        f"{response.status_code} {response.text[:200]}; expected 502 Bad Gateway: an upstream "
                        "failure is not the client's fault, nor an unexplained 500. "
                        + LESSON.format("Upstream failures are 502"),
                    )
                started = time.monotonic()
                response = await client.get("/quote/Q-1?currency=SLOW")
                took = time.monotonic() - started
                expect(
                    response.status_code == 502,
                    f"GET /quote/Q-1?currency=SLOW, the upstream answering only after 1.5 s: the app answered "
                    f"{response.status_code} after {took:.1f} s; expected 502 once the UpstreamClient's 0.5 s "
                    "timeout has passed. " + LESSON.format("Upstream failures are 502"),
                )
        finally:
            rates.stop.set()
            await served.shutdown()
            served.close()


@check_timeout(25)
async def test_under_load_pools_stay_bounded_and_sigterm_closes_them(sub, db):
    await _seed(db)
    rates = Rates()
    async with Upstream(rates) as upstream:
        served = await _serve(sub, db, upstream)
        peak_backends = 0
        sampling = True

        async def sample() -> None:
            nonlocal peak_backends
            while sampling:
                peak_backends = max(peak_backends, await _backends(db))
                await asyncio.sleep(0.02)

        try:
            skus, currencies = list(PRODUCTS), [*RATES, None]
            plan = [(skus[i % 4], currencies[i % 5]) for i in range(200)]
            slots = asyncio.Semaphore(50)
            limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
            async with httpx.AsyncClient(base_url=served.url, timeout=5.0, limits=limits) as client:

                async def one(sku: str, currency: str | None) -> tuple[str, int, Any]:
                    path = f"/quote/{sku}" + (f"?currency={currency}" if currency else "")
                    async with slots:
                        try:
                            response = await client.get(path)
                        except httpx.HTTPError as exc:
                            return path, 0, describe(exc)
                    return path, response.status_code, _json(response)

                sampler = asyncio.create_task(sample())
                load = asyncio.gather(*(one(s, c) for s, c in plan))
                try:
                    # About 2 s on a quiet machine, 6 s on a loaded one; an app stuck waiting for database
                    # connections (an engine per request exhausts the role's connection limit) is cut at 10 s.
                    results = await asyncio.wait_for(load, 10.0)
                except TimeoutError:
                    fail(
                        f"200 requests, 50 at a time, were not all answered within 10 s (the app held up to "
                        f"{peak_backends} database connections, the upstream saw {upstream.connections_total} "
                        "TCP connections). An engine made per request opens connections until the database "
                        "refuses more, then requests wait: one engine, made in the lifespan. "
                        + LESSON.format(LIFESPAN)
                    )
                finally:
                    sampling = False
                    await sampler
            bad = [r for r in results if r[1] >= 500 or r[1] == 0]
            expect(
                not bad,
                f"Under load (200 requests, 50 at a time) {len(bad)} answer(s) were 5xx or failed, e.g. "
                f"{bad[:3]}; expected none. An engine or a ClientSession made per request runs out of "
                "connections (the database refuses more than its limit). " + LESSON.format(LIFESPAN),
            )
            wrong = [r for r, (s, c) in zip(results, plan, strict=True) if r[2] != _expected(s, c or "EUR")]
            expect(not wrong, f"Under load {len(wrong)} answer(s) had a wrong body, e.g. {wrong[:2]}.")
            expect(
                peak_backends <= POOL_BOUND,
                f"Under load the app held up to {peak_backends} database connections at once; expected at "
                f"most {POOL_BOUND} (pool_size {POOL_BOUND // 2} from recommend_pool_size(200, 0.05), "
                "max_overflow at most pool_size): one engine, made in the lifespan. "
                + LESSON.format(LIFESPAN),
            )
            expect(
                upstream.connections_total <= UPSTREAM_BOUND,
                f"200 requests made the app open {upstream.connections_total} TCP connections to the upstream "
                f"(up to {upstream.peak_connections} at once); expected at most {UPSTREAM_BOUND}, the "
                "UpstreamClient's limit_per_host, kept alive and reused: one ClientSession for the app's life, "
                "not one per request. See notebook 04_pooling/03, 'One session, one connector'.",
            )
            await _judge_shutdown(db, upstream, served)
        finally:
            sampling = False
            served.close()


async def _judge_shutdown(db: Database, upstream: Upstream, served: Served) -> None:
    """SIGTERM the app, then count what it left open while its process still lives."""
    before = await _backends(db), upstream.connections_open
    done = await served.shutdown()
    if not done:
        output = "".join(served.output)[-800:]
        fail(
            "After SIGTERM the app's server did not finish its shutdown within 8 s (is the lifespan "
            f"stuck after its yield?). Output:\n{output}"
        )
    # The process still lives (it waits for the checker): what is open now was left open. Postgres
    # and the upstream see a closed socket within milliseconds; 2 s is ample on a busy machine.
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        backends, sockets = await _backends(db), upstream.connections_open
        if backends == 0 and sockets == 0:
            break
        await asyncio.sleep(0.05)
    expect(
        backends == 0,
        f"After SIGTERM and the lifespan's shutdown, with the process still alive, {backends} "
        f"database connection(s) of the app were still open (it had {before[0]} before); expected "
        "none: `await engine.dispose()` after the lifespan's yield. " + LESSON.format(LIFESPAN),
    )
    expect(
        sockets == 0,
        f"After SIGTERM and the lifespan's shutdown, with the process still alive, the upstream still "
        f"had {sockets} open connection(s) from the app (it had {before[1]} before); expected none: "
        "close the UpstreamClient (leave its `async with`) in the lifespan. " + LESSON.format(LIFESPAN),
    )


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]
