"""Request ids, timing, access logs and CORS around any FastAPI app.

`add_middleware(app, cors_origins=...)` makes every response (404, 422 and the 500 of a handler that
raised included) carry `X-Request-ID` (the client's if valid: 1-64 of letters, digits, `-`, `_`, `.`;
otherwise a new UUID4) and `X-Response-Time` (like `0.0123s`). `current_request_id()` gives the id to code
running for the request, tasks it starts included, and `None` outside a request; `request.state.request_id`
holds it too. Each request leaves one INFO record on logger `app.access` with the attributes `request_id`,
`method`, `path`, `status_code`, `duration_ms`. CORS is the outermost layer and exposes both headers.
Streaming responses must not be buffered.

Read: notebooks/02_fastapi/04_middleware_and_errors.ipynb, "The order of the middleware stack".
Check: course check fastapi/middleware
"""

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
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
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
    app.add_middleware(BaseHTTPMiddleware, dispatch=request_context)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID", "X-Response-Time"],
    )
