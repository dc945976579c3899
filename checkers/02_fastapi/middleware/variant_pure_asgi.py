# passes: pure ASGI middleware class (wraps `send`, no BaseHTTPMiddleware), CORS added through app.add_middleware last
"""Request ids, timing and access logs as a pure ASGI middleware."""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str | None] = ContextVar("REQUEST_ID", default=None)
VALID = re.compile(r"[A-Za-z0-9._-]{1,64}")
log = logging.getLogger("app.access")


def current_request_id() -> str | None:
    return REQUEST_ID.get()


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = raw if VALID.fullmatch(raw) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = rid
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500, "sent": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                headers["X-Response-Time"] = f"{time.perf_counter() - started:.6f}s"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logging.getLogger("app.errors").exception("unhandled error")
            if status["sent"]:
                raise
            await send_with_headers(
                {"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/plain")]}
            )
            await send({"type": "http.response.body", "body": b"Internal Server Error"})
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            log.info(
                "request finished",
                extra={
                    "request_id": rid,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status_code": status["code"],
                    "duration_ms": elapsed,
                },
            )
            REQUEST_ID.reset(token)


def add_middleware(app: FastAPI, *, cors_origins: list[str]) -> None:
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cors_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Content-Type", "Authorization", "X-Request-ID"],
        expose_headers=["X-Request-ID", "X-Response-Time"],
    )
