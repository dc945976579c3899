# must fail: test_http_exceptions_keep_their_status_detail_and_headers
"""The handler is registered for fastapi.HTTPException only: the router's own 404 and 405 (Starlette's class) keep the default shape."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi import HTTPException as StarletteHTTPException

error_log = logging.getLogger("app.errors")


class DomainError(Exception):
    status: int = 400
    title: str = "Domain error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(DomainError):
    status = 404
    title = "Not found"


class ConflictError(DomainError):
    status = 409
    title = "Conflict"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(request: Request, status: int, title: str, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "instance": request.url.path, **extra}
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return problem(request, exc.status, exc.title, exc.detail)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's HTTPException is a subclass
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
        return problem(request, exc.status_code, _phrase(exc.status_code), detail, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return problem(request, 422, "Validation failed", f"{len(errors)} invalid field(s)", errors=errors)

    @app.exception_handler(Exception)
    async def unhandled(request: Request, exc: Exception) -> JSONResponse:
        error_log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
        return problem(request, 500, "Internal Server Error", "An unexpected error occurred.")
