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
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """True if `password` matches `password_hash`; False for a mismatch or a hash that is not argon2."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError, TypeError, ValueError):
        return False


def create_access_token(
    subject: str, *, role: str, secret: str, expires_in: timedelta = timedelta(minutes=15)
) -> str:
    """A JWT (HS256) for `subject` with its role, issued now, expiring after `expires_in`."""
    now = datetime.now(UTC)
    claims = {"sub": subject, "role": role, "iat": now, "exp": now + expires_in}
    return jwt.encode(claims, secret, algorithm="HS256")


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


async def current_user(request: Request, token: Annotated[str | None, Depends(bearer)]) -> tuple[User, str]:
    """The user of a valid bearer token, and their current role; 401 otherwise."""
    if not token:
        raise unauthorized("Not authenticated")
    try:
        # algorithms pinned: `alg: none` or any other algorithm is refused; exp is checked and required.
        claims = jwt.decode(
            token, request.app.state.secret, algorithms=["HS256"], options={"require": ["sub", "exp", "iat"]}
        )
        user_id = uuid.UUID(str(claims["sub"]))
    except (jwt.InvalidTokenError, ValueError):
        raise unauthorized("Invalid or expired token") from None
    async with request.app.state.sessions() as session:
        row = (
            await session.execute(
                select(User, Credential.role)
                .join(Credential, Credential.user_id == User.id)
                .where(User.id == user_id)
            )
        ).first()
    if row is None:  # deleted since the token was issued
        raise unauthorized("Invalid or expired token")
    return row[0], row[1]


CurrentUser = Annotated[tuple[User, str], Depends(current_user)]


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    password: str = Field(min_length=12, max_length=128)
    name: str = Field(min_length=1, max_length=100)


def create_app(engine: AsyncEngine, *, secret: str) -> FastAPI:
    """The app; `secret` signs and verifies the tokens."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    # Verified against when the email is unknown, so both failures cost one hash verification.
    dummy_hash = hash_password("not a real password, only spends the time")
    app = FastAPI()
    app.state.secret, app.state.sessions = secret, sessions

    def public(user: User) -> dict:  # never the hash
        return {
            "id": str(user.id),
            "email": user.email,
            "name": user.name,
            "created_at": user.created_at.isoformat(),
        }

    @app.post("/auth/register", status_code=201)
    async def register(body: Registration) -> dict:
        password_hash = await run_in_threadpool(hash_password, body.password)
        try:
            async with sessions.begin() as session:
                user = User(email=body.email, name=body.name)
                session.add(user)
                await session.flush()
                session.add(Credential(user_id=user.id, password_hash=password_hash, role="user"))
                await session.flush()
                await session.refresh(user)  # created_at comes from the server
        except IntegrityError:
            raise HTTPException(409, "email already registered") from None
        return public(user)

    @app.post("/auth/token")
    async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict:
        email = form.username
        async with sessions() as session:
            failures, oldest, now = (
                await session.execute(
                    select(func.count(), func.min(LoginAttempt.created_at), func.now()).where(
                        LoginAttempt.email == email,
                        LoginAttempt.succeeded.is_(False),
                        LoginAttempt.created_at > func.now() - timedelta(seconds=WINDOW_SECONDS),
                    )
                )
            ).one()
            if failures >= MAX_FAILURES:
                wait = WINDOW_SECONDS - (now - oldest).total_seconds()
                raise HTTPException(
                    429,
                    "Too many failed logins, try later",
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )
            row = (
                await session.execute(
                    select(User.id, Credential.password_hash, Credential.role)
                    .join(Credential, Credential.user_id == User.id)
                    .where(User.email == email)
                )
            ).first()
        ok = await run_in_threadpool(verify_password, form.password, row.password_hash if row else dummy_hash)
        ok = ok and row is not None
        async with sessions.begin() as session:
            session.add(LoginAttempt(email=email, succeeded=ok))
        if not ok:
            raise unauthorized("Incorrect email or password")
        return {
            "access_token": create_access_token(str(row.id), role=row.role, secret=secret),
            "token_type": "bearer",
        }

    @app.get("/me")
    async def me(current: CurrentUser) -> dict:
        user, role = current
        return {**public(user), "role": role}

    @app.get("/admin/users")
    async def admin_users(current: CurrentUser) -> list[dict]:
        if current[1] != "admin":
            raise HTTPException(403, "admin only")
        async with sessions() as session:
            users = (await session.scalars(select(User).order_by(User.email))).all()
        return [public(u) for u in users]

    return app
