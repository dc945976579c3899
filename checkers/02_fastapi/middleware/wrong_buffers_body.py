# must fail: test_streaming_responses_are_not_buffered
"""A BaseHTTPMiddleware that reads the whole body (to time the full response): streams arrive all at once."""

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


def current_request_id() -> str | None:
    return _request_id.get()


class RequestContext(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        sent = request.headers.get("x-request-id", "")
        request_id = sent if _VALID_ID.fullmatch(sent) else str(uuid.uuid4())
        token = _request_id.set(request_id)
        request.state.request_id = request_id
        start = time.perf_counter()
        try:
            try:
                streamed = await call_next(request)
                body = b"".join([chunk async for chunk in streamed.body_iterator])  # the whole response, timed
                response = Response(body, status_code=streamed.status_code, headers=dict(streamed.headers))
            except Exception:
                response = JSONResponse({"detail": "Internal Server Error"}, status_code=500)
            elapsed = time.perf_counter() - start
            response.headers["X-Request-ID"] = request_id
            response.headers["X-Response-Time"] = f"{elapsed:.4f}s"
            access_log.info(
                "%s %s", request.method, request.url.path,
                extra={"request_id": request_id, "method": request.method, "path": request.url.path,
                       "status_code": response.status_code, "duration_ms": elapsed * 1000},
            )
            return response
        finally:
            _request_id.reset(token)


def add_middleware(app: FastAPI, *, cors_origins: list[str]) -> None:
    app.add_middleware(RequestContext)
    app.add_middleware(
        CORSMiddleware, allow_origins=cors_origins, allow_methods=["*"], allow_headers=["*"],
        expose_headers=["X-Request-ID", "X-Response-Time"],
    )
