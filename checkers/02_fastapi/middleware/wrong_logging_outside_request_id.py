# must fail: test_one_access_log_record_per_request_with_its_attributes
"""Two middlewares, the access log added last: it runs outside the one that sets the id and logs `None`."""

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

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
access_log = logging.getLogger("app.access")

Next = Callable[[Request], Awaitable[Response]]


def current_request_id() -> str | None:
    return _request_id.get()


def add_middleware(app: FastAPI, *, cors_origins: list[str]) -> None:
    @app.middleware("http")
    async def request_ids(request: Request, call_next: Next) -> Response:
        sent = request.headers.get("x-request-id", "")
        request_id = sent if _VALID_ID.fullmatch(sent) else str(uuid.uuid4())
        token = _request_id.set(request_id)
        request.state.request_id = request_id
        start = time.perf_counter()
        try:
            try:
                response = await call_next(request)
            except Exception:
                response = JSONResponse({"detail": "Internal Server Error"}, status_code=500)
            response.headers["X-Request-ID"] = request_id
            response.headers["X-Response-Time"] = f"{time.perf_counter() - start:.4f}s"
            return response
        finally:
            _request_id.reset(token)

    @app.middleware("http")
    async def access_logging(request: Request, call_next: Next) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        access_log.info(
            "%s %s", request.method, request.url.path,
            extra={"request_id": current_request_id(), "method": request.method, "path": request.url.path,
                   "status_code": response.status_code, "duration_ms": (time.perf_counter() - start) * 1000},
        )
        return response

    app.add_middleware(
        CORSMiddleware, allow_origins=cors_origins, allow_methods=["*"], allow_headers=["*"],
        expose_headers=["X-Request-ID", "X-Response-Time"],
    )
