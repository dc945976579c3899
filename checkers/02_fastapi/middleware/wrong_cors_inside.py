# must fail: test_cors_is_the_outermost_layer
"""CORS added first, so it sits inside the request-id middleware: the 500 that middleware makes has no CORS headers."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.middleware.base import BaseHTTPMiddleware

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
access_log = logging.getLogger("app.access")
error_log = logging.getLogger("app.errors")


def current_request_id() -> str | None:
    return _request_id.get()


def add_middleware(app: FastAPI, *, cors_origins: list[str]) -> None:
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        sent = request.headers.get("x-request-id", "")
        request_id = sent if _VALID_ID.fullmatch(sent) else str(uuid.uuid4())
        token = _request_id.set(request_id)
        request.state.request_id = request_id
        start = time.perf_counter()
        status_code = 500
        try:
            try:
                response = await call_next(request)
            except Exception:
                # Answer the 500 here, inside CORS, so that it gets the CORS headers and our own.
                error_log.exception("unhandled error in %s %s", request.method, request.url.path)
                response = JSONResponse({"detail": "Internal Server Error"}, status_code=500)
            status_code = response.status_code
            response.headers["X-Request-ID"] = request_id
            response.headers["X-Response-Time"] = f"{time.perf_counter() - start:.4f}s"
            return response
        finally:
            duration_ms = (time.perf_counter() - start) * 1000
            access_log.info(
                "%s %s %s %.1fms",
                request.method,
                request.url.path,
                status_code,
                duration_ms,
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.url.path,
                    "status_code": status_code,
                    "duration_ms": duration_ms,
                },
            )
            _request_id.reset(token)

    # The last added is the outermost: CORS wraps everything, so preflights never reach the rest.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID", "X-Response-Time"],
    )
    app.add_middleware(BaseHTTPMiddleware, dispatch=request_context)
