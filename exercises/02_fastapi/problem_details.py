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
    # TODO: status, title, and keep `detail`
    pass


class NotFoundError(DomainError):
    # TODO
    pass


class ConflictError(DomainError):
    # TODO
    pass


def install_problem_handlers(app: FastAPI) -> None:
    # TODO: your code here
    raise NotImplementedError
