# passes: bcrypt (on a base64 SHA-256 pre-hash, so 128 characters fit in 72 bytes) and a custom HTTPBearer dependency
"""Variant: bcrypt with a pre-hash instead of argon2; the bearer token read by a subclass of HTTPBearer."""

from __future__ import annotations

import base64
import hashlib
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

import bcrypt
import jwt
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Credential, LoginAttempt, User

MAX_FAILURES, WINDOW_SECONDS = 5, 60


def _prehash(password: str) -> bytes:
    # 44 bytes of base64 whatever the password's length: under bcrypt's 72-byte limit, and no NUL bytes.
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def hash_password(password: str) -> str:
    """bcrypt (cost 12) of a SHA-256 pre-hash of the password."""
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(12)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode())
    except (ValueError, TypeError):
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


class Bearer(HTTPBearer):
    """HTTPBearer answers 403 without a challenge by default; this one answers 401 with WWW-Authenticate."""

    async def __call__(self, request: Request) -> HTTPAuthorizationCredentials:
        credentials = await super().__call__(request)
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise unauthorized("Not authenticated")
        return credentials


bearer = Bearer(auto_error=False)


async def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)]
) -> tuple[User, str]:
    """The user of a valid bearer token, and their current role; 401 otherwise."""
    token = credentials.credentials
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
