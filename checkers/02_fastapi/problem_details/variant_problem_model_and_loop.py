# passes: a pydantic Problem model, handlers added in a loop with add_exception_handler, status-specific type URIs, logger.exception
"""Problem details built from a pydantic model; one function turns any exception into a problem."""

import logging
from http import HTTPStatus

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as BaseHTTPException

log = logging.getLogger("app.errors")


class DomainError(Exception):
    status = 422
    title = "Unprocessable request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(DomainError):
    status, title = 404, "Resource not found"


class ConflictError(DomainError):
    status, title = 409, "Resource conflict"


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = None


def _to_problem(request: Request, exc: Exception) -> tuple[Problem, dict[str, str] | None]:
    path = request.url.path
    if isinstance(exc, DomainError):
        return Problem(
            type=f"https://errors.example/{exc.status}",
            title=exc.title,
            status=exc.status,
            detail=exc.detail,
            instance=path,
        ), None
    if isinstance(exc, BaseHTTPException):
        phrase = HTTPStatus(exc.status_code).phrase
        detail = exc.detail if isinstance(exc.detail, str) else phrase
        return Problem(
            type="about:blank", title=phrase, status=exc.status_code, detail=detail, instance=path
        ), exc.headers
    if isinstance(exc, RequestValidationError):
        errors = [FieldError(loc=list(e["loc"]), msg=str(e["msg"])) for e in exc.errors()]
        return Problem(
            type="about:blank",
            title="Invalid request",
            status=422,
            detail="The request is invalid.",
            instance=path,
            errors=errors,
        ), None
    try:
        raise exc
    except Exception:  # re-raised here so that logger.exception sees it with its traceback
        log.exception("unhandled %s on %s", type(exc).__name__, path)
    return Problem(
        type="about:blank",
        title="Internal Server Error",
        status=500,
        detail="Something went wrong on our side.",
        instance=path,
    ), None


async def _handle(request: Request, exc: Exception) -> Response:
    problem, headers = _to_problem(request, exc)
    return Response(
        problem.model_dump_json(exclude_none=True),
        status_code=problem.status,
        headers=headers,
        media_type="application/problem+json",
    )


def install_problem_handlers(app: FastAPI) -> None:
    for kind in (DomainError, BaseHTTPException, HTTPException, RequestValidationError, Exception):
        app.add_exception_handler(kind, _handle)
