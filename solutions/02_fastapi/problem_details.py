"""RFC 9457 problem details for every error an app can produce.

`DomainError(detail)` carries class attributes `status` and `title`; `NotFoundError` (404) and
`ConflictError` (409) are examples, and any subclass, defined anywhere, answers with its own status and
title. `install_problem_handlers(app)` makes domain errors, `HTTPException` (its headers kept: a 401's
`WWW-Authenticate`, a 405's `Allow`), unknown routes and methods, request validation errors and any other
exception answer `application/problem+json` with `type`, `title`, `status`, `detail`, `instance` (the
request path); validation errors add `errors`, a list of `{"loc", "msg"}`. An unhandled exception is a 500
whose detail never contains the exception's text; it is logged with its traceback on logger `app.errors`.

Read: notebooks/02_fastapi/04_middleware_and_errors.ipynb, "Problem details (RFC 9457)".
Check: course check fastapi/problem_details
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
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
