"""Authentication: password hashing, JWT access tokens, roles and a login rate limit shared through Postgres.

- `hash_password(password)` (argon2id or bcrypt: salted; any password up to 128 characters must work, mind
  bcrypt's 72-byte limit) and `verify_password(password, password_hash)` (False, never an exception, for a
  wrong password or a malformed hash).
- `create_access_token(subject, *, role, secret, expires_in=15 min)`: a JWT signed with HS256 holding `sub`,
  `role`, `iat`, `exp`.
- `create_app(engine, *, secret)`: `POST /auth/register` `{"email", "password" (12+ chars), "name" (1-100)}`
  201/409/422; `POST /auth/token` (OAuth2 password form) `{"access_token", "token_type": "bearer"}` or 401,
  the same answer, in about the same time, for an unknown email and a wrong password; `GET /me` (never the
  hash), 401 with `WWW-Authenticate: Bearer` for a missing, malformed, expired, forged or `alg: none` token or
  a deleted user; `GET /admin/users` 200 for role `admin`, 403 otherwise. After 5 failed logins for an email
  within 60 s (rows of `login_attempts`), that email gets 429 with `Retry-After` until the window ends.

Read: notebooks/02_fastapi/05_security.ipynb, "Hashing passwords", "JWT pitfalls", "Rate limiting through Postgres".
Check: course check fastapi/auth
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Credential, LoginAttempt, User

_hasher = PasswordHasher()  # argon2id; no 72-byte limit
MAX_FAILURES, WINDOW_SECONDS = 5, 60


def hash_password(password: str) -> str:
    """A salted argon2id hash of `password`."""
    # TODO: your code here
    raise NotImplementedError


def verify_password(password: str, password_hash: str) -> bool:
    """True if `password` matches `password_hash`; False for a mismatch or a hash that is not argon2."""
    # TODO: your code here
    raise NotImplementedError


def create_access_token(
    subject: str, *, role: str, secret: str, expires_in: timedelta = timedelta(minutes=15)
) -> str:
    """A JWT (HS256) for `subject` with its role, issued now, expiring after `expires_in`."""
    # TODO: your code here
    raise NotImplementedError


def unauthorized(detail: str) -> HTTPException:
    # TODO: your code here
    raise NotImplementedError


bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


async def current_user(request: Request, token: Annotated[str | None, Depends(bearer)]) -> tuple[User, str]:
    """The user of a valid bearer token, and their current role; 401 otherwise."""
    # TODO: your code here
    raise NotImplementedError


CurrentUser = Annotated[tuple[User, str], Depends(current_user)]


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    password: str = Field(min_length=12, max_length=128)
    name: str = Field(min_length=1, max_length=100)


def create_app(engine: AsyncEngine, *, secret: str) -> FastAPI:
    """The app; `secret` signs and verifies the tokens."""
    # TODO: your code here
    raise NotImplementedError
