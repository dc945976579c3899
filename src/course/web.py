"""Driving a learner's FastAPI app from a checker: in-process over ASGI, or under a real uvicorn server.

`asgi_client` runs the lifespan (httpx's ASGITransport does not) and turns app exceptions into 500s, as a
server would. `serve` runs uvicorn on a free loopback port in this process (real HTTP: streaming, headers,
connection reuse). `serve_in_subprocess` runs it in a process of its own, where the submission cannot
patch the checker, and where SIGTERM and shutdown can be observed from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def asgi_client(
    app: Any, *, lifespan: bool = True, base_url: str = "http://test"
) -> AsyncIterator[Any]:
    """An httpx.AsyncClient talking to `app` in process, with its lifespan run around the block."""
    import httpx
    from asgi_lifespan import LifespanManager

    if lifespan:
        async with LifespanManager(app, startup_timeout=10, shutdown_timeout=10) as manager:
            transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
                yield client
    else:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@contextlib.asynccontextmanager
async def serve(app: Any, *, port: int | None = None, timeout: float = 10.0) -> AsyncIterator[str]:
    """Run `app` under uvicorn on 127.0.0.1 in this event loop; yields the base URL; shuts down after."""
    import uvicorn

    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)

    async def run() -> None:
        try:
            await server.serve()
        except SystemExit as exc:  # uvicorn exits the process when the app's startup fails
            raise RuntimeError(f"the app's startup failed (uvicorn would exit with {exc.code})") from None

    task = asyncio.create_task(run())
    try:
        async with asyncio.timeout(timeout):
            while not server.started:
                if task.done():
                    task.result()  # startup failed: raise its error
                    raise RuntimeError("uvicorn stopped during startup")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, timeout)


@dataclass
class ServedProcess:
    """A uvicorn server in a child process: `url`, and `stop()` which sends SIGTERM and waits."""

    process: subprocess.Popen
    url: str

    def stop(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def serve_in_subprocess(
    path: str, factory: str, *args: Any, env: dict[str, str] | None = None, timeout: float = 20.0
) -> ServedProcess:
    """Start `python -m course.web PATH FACTORY ARGS_JSON PORT`: it loads `FACTORY(*ARGS)` from the file
    at PATH (by path, never via sys.path) and serves it; returns once the server accepts connections."""
    import time

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-I", "-m", "course.web", path, factory, json.dumps(list(args)), str(port)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"the app's server exited during startup:\n{output[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return ServedProcess(process, f"http://127.0.0.1:{port}")
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the app's server did not accept connections within {timeout:g} s")


def _main() -> None:
    import importlib.util

    import uvicorn

    path, factory, args_json, port = sys.argv[1:5]
    spec = importlib.util.spec_from_file_location("served_submission", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["served_submission"] = module
    spec.loader.exec_module(module)
    app = getattr(module, factory)(*json.loads(args_json))
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", lifespan="on")


if __name__ == "__main__":
    _main()
