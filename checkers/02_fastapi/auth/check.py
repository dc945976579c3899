"""Checks for fastapi/auth: hashing, tokens, `/me`, roles, and the login rate limit.

The helpers are called directly; the app is driven in process over ASGI (`course.web.asgi_client`) on an
engine of the check's database, and read back from a separate connection. Tokens are obtained by logging
in; forged ones are made from the claims of a real token (re-signed with another secret, expired, or with
`alg: none` written by hand). The rate limit is checked across two app instances, each from its own fresh
import of the submission, so nothing kept in the module is shared between them.
"""

from __future__ import annotations

import base64
import importlib.util
import inspect
import json
import statistics
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import jwt

from course.checking import Database, expect, fail
from course.web import asgi_client

REQUIRES = {
    "hash_password": "def hash_password(password)",
    "verify_password": "def verify_password(password, password_hash)",
    "create_access_token": "def create_access_token(subject, *, role, secret, expires_in=...)",
    "create_app": "def create_app(engine, *, secret)",
}
LESSON = "See notebook 02_fastapi/05, '{}'."
SECRET = "checker-secret-" + "k" * 32
PASSWORD = "correct horse battery staple"
HASH_PREFIXES = ("$argon2id$", "$2b$", "$2a$", "$2y$")


def shown(r: httpx.Response) -> str:
    return f"{r.request.method} {r.request.url.path} -> {r.status_code} {r.text[:200]}"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    """The payload of a token, read without verifying it (the checker only reuses what it was given)."""
    return jwt.decode(token, options={"verify_signature": False})


async def fresh(db: Database) -> None:
    conn = await db.observer()
    await conn.execute(
        "TRUNCATE login_attempts, credentials, audit_events, order_items, orders, users CASCADE"
    )


async def register(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, name: str = "Ada"
) -> httpx.Response:
    r = await client.post("/auth/register", json={"email": email, "password": password, "name": name})
    expect(
        r.status_code == 201,
        f"Registering {email!r}: {shown(r)}; expected 201. " + LESSON.format("Hashing passwords"),
    )
    return r


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/token", data={"username": email, "password": password})


async def token_for(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    r = await login(client, email, password)
    expect(
        r.status_code == 200
        and isinstance(r.json().get("access_token"), str)
        and r.json().get("token_type") == "bearer",
        f"Logging in as {email!r} with the right password: {shown(r)}; expected 200 "
        '{"access_token": "...", "token_type": "bearer"}. ' + LESSON.format("JWT pitfalls"),
    )
    return r.json()["access_token"]


def expect_401(r: httpx.Response, what: str) -> None:
    challenge = r.headers.get("www-authenticate", "")
    expect(
        r.status_code == 401 and challenge.lower().startswith("bearer"),
        f"{r.request.method} {r.request.url.path} with {what}: {r.status_code} {r.text[:150]} (WWW-Authenticate: {challenge!r}); expected 401 with "
        "`WWW-Authenticate: Bearer`. " + LESSON.format("JWT pitfalls"),
    )


def test_hashes_are_salted_and_never_contain_the_password(sub):
    first, second = sub.hash_password(PASSWORD), sub.hash_password(PASSWORD)
    expect(isinstance(first, str), f"hash_password returned {type(first).__name__}, expected str.")
    expect(
        PASSWORD not in first and PASSWORD.encode().hex() not in first,
        "hash_password(...) contains the password itself. " + LESSON.format("Hashing passwords"),
    )
    expect(
        first != second,
        "hash_password gave the same hash twice for the same password: it is not salted (a plain sha256, say). "
        "Use argon2id or bcrypt. " + LESSON.format("Hashing passwords"),
    )
    expect(
        first.startswith(HASH_PREFIXES),
        f"hash_password(...) = {first[:20]!r}...: expected an argon2id ('$argon2id$...') or bcrypt ('$2b$...') "
        "hash. " + LESSON.format("Hashing passwords"),
    )
    expect(
        sub.verify_password(PASSWORD, first) is True,
        "verify_password(password, hash_password(password)) is not True.",
    )
    expect(sub.verify_password(PASSWORD + "!", first) is False, "verify_password accepted a wrong password.")


def test_long_passwords_are_hashed_whole(sub):
    # bcrypt looks at the first 72 bytes only: two 128-character passwords differing at the end must differ.
    base = "é" * 60  # 120 bytes in UTF-8
    long_a, long_b = base + "a" * 68, base + "b" * 68
    try:
        hashed = sub.hash_password(long_a)
    except NotImplementedError:
        raise
    except Exception as exc:
        fail(
            f"hash_password of a 128-character password raised {type(exc).__name__}: {exc}. Any password up to "
            "128 characters must work. " + LESSON.format("Hashing passwords")
        )
    expect(
        sub.verify_password(long_a, hashed) is True,
        "verify_password rejects a 128-character password it hashed.",
    )
    expect(
        sub.verify_password(long_b, hashed) is False,
        "verify_password accepts a different 128-character password that shares its first 72 bytes: the hash "
        "only covers the first 72 bytes (bcrypt's limit). " + LESSON.format("Hashing passwords"),
    )


def test_verify_password_returns_false_for_malformed_hashes(sub):
    sub.hash_password(PASSWORD)  # an untouched stub stops here
    for bad in ("", "not a hash", "$argon2id$v=19$m=65536,t=3,p=4$garbage", "$2b$12$tooshort", PASSWORD):
        try:
            result = sub.verify_password(PASSWORD, bad)
        except Exception as exc:
            fail(
                f"verify_password({PASSWORD!r}, {bad!r}) raised {type(exc).__name__}; expected False. "
                + LESSON.format("Hashing passwords")
            )
        expect(
            result is False,
            f"verify_password({PASSWORD!r}, {bad!r}) returned {result!r}; expected False. "
            + LESSON.format("Hashing passwords"),
        )


def test_access_tokens_are_hs256_with_sub_role_iat_and_exp(sub):
    token = sub.create_access_token("user-42", role="admin", secret=SECRET)
    header = jwt.get_unverified_header(token)
    expect(header.get("alg") == "HS256", f"The token's header is {header}; expected alg HS256.")
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    except jwt.InvalidTokenError as exc:
        fail(
            f"The token does not verify with the secret it was made with: {exc}. "
            + LESSON.format("JWT pitfalls")
        )
    expect(
        claims.get("sub") == "user-42" and claims.get("role") == "admin",
        f"Token claims {claims}; expected sub 'user-42' and role 'admin'.",
    )
    now = time.time()
    expect(
        isinstance(claims.get("iat"), int | float) and abs(claims["iat"] - now) < 60,
        f"Token claims {claims}: 'iat' should be the time of issue (now, in seconds since the epoch).",
    )
    expect(
        isinstance(claims.get("exp"), int | float) and abs(claims["exp"] - claims["iat"] - 900) <= 2,
        f"Token claims {claims}: by default 'exp' should be 15 minutes after 'iat'.",
    )
    short = claims_of(
        sub.create_access_token("u", role="user", secret=SECRET, expires_in=timedelta(seconds=30))
    )
    expect(abs(short["exp"] - short["iat"] - 30) <= 2, f"With expires_in=30 s the claims are {short}.")


async def test_register_validates_input_and_stores_only_a_hash(sub, db):
    await fresh(db)
    async with asgi_client(sub.create_app(db.engine(), secret=SECRET)) as client:
        r = await register(client, "ada@example.com")
        body = r.json()
        expect(
            {"id", "email", "name"} <= body.keys() and body["email"] == "ada@example.com",
            f"{shown(r)}; expected the new user's id, email and name.",
        )
        expect(
            PASSWORD not in r.text and "$argon2" not in r.text and "$2b$" not in r.text,
            f"{shown(r)} shows the password or its hash.",
        )
        stored = await (await db.observer()).fetchrow(
            "SELECT c.password_hash, c.role FROM credentials c JOIN users u ON u.id = c.user_id WHERE u.email = $1",
            "ada@example.com",
        )
        expect(stored is not None, "After a 201 from /auth/register, credentials has no row for the user.")
        expect(
            PASSWORD not in stored["password_hash"] and stored["password_hash"].startswith(HASH_PREFIXES),
            f"credentials.password_hash is {stored['password_hash'][:20]!r}...: expected an argon2id or bcrypt hash.",
        )
        expect(stored["role"] == "user", f"A new user's role is {stored['role']!r}; expected 'user'.")
        r = await client.post(
            "/auth/register", json={"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
        )
        expect(r.status_code == 409, f"Registering a taken email: {shown(r)}; expected 409.")
        bad_inputs = [
            (
                {"email": "bob@example.com", "password": "short", "name": "Bob"},
                "a password under 12 characters",
            ),
            ({"email": "bob@example.com", "password": PASSWORD, "name": ""}, "an empty name"),
            ({"email": "bob@example.com", "password": PASSWORD, "name": "B" * 101}, "a 101-character name"),
            ({"email": "not-an-email", "password": PASSWORD, "name": "Bob"}, "a malformed email"),
            (
                {"email": "x'; DROP TABLE users;--@example.com", "password": PASSWORD, "name": "Bob"},
                "SQL in the email",
            ),
            ({"email": "bob@example.com", "name": "Bob"}, "no password"),
        ]
        for payload, why in bad_inputs:
            r = await client.post("/auth/register", json=payload)
            expect(r.status_code == 422, f"Registering with {why}: {shown(r)}; expected 422.")
        sql_name = "Robert'); DROP TABLE users;--"
        await register(client, "bobby@example.com", "p" * 128, sql_name)
        name = await (await db.observer()).fetchval(
            "SELECT name FROM users WHERE email = 'bobby@example.com'"
        )
        expect(name == sql_name, f"A name with SQL in it was stored as {name!r}.")
        await token_for(client, "bobby@example.com", "p" * 128)
        for username in ("' OR '1'='1", "bobby@example.com' --"):
            r = await login(client, username, "' OR '1'='1")
            expect(
                r.status_code == 401,
                f"Logging in as {username!r} with password \"' OR '1'='1\": {shown(r)}; expected 401.",
            )


async def test_a_token_from_login_opens_me(sub, db):
    await fresh(db)
    async with asgi_client(sub.create_app(db.engine(), secret=SECRET)) as client:
        await register(client, "ada@example.com")
        token = await token_for(client, "ada@example.com")
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        except jwt.InvalidTokenError as exc:
            fail(f"The token from /auth/token does not verify with HS256 and the app's secret: {exc}.")
        expect(
            {"sub", "role", "iat", "exp"} <= claims.keys(),
            f"The token's claims are {claims}; expected sub, role, iat, exp.",
        )
        r = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
        expect(
            r.status_code == 200 and r.json().get("email") == "ada@example.com",
            f"GET /me with the token from login: {shown(r)}; expected 200 with the user's email.",
        )
        expect(
            "password" not in r.text.lower() and "$argon2" not in r.text and "$2b$" not in r.text,
            f"GET /me shows the password hash: {r.text[:200]}.",
        )


async def test_me_rejects_missing_malformed_expired_forged_and_alg_none_tokens(sub, db):
    await fresh(db)
    async with asgi_client(sub.create_app(db.engine(), secret=SECRET)) as client:
        await register(client, "ada@example.com")
        token = await token_for(client, "ada@example.com")
        claims = claims_of(token)
        now = int(time.time())
        expired = {**claims, "iat": now - 3600, "exp": now - 600}
        head, payload, signature = token.split(".")
        cases = {
            "no Authorization header": None,
            "a token that is not a JWT": "Bearer not.a.jwt",
            "a Basic authorization": "Basic "
            + base64.b64encode(b"ada@example.com:" + PASSWORD.encode()).decode(),
            "a token signed with another secret": "Bearer "
            + jwt.encode(claims, "another-secret-" + "x" * 32, algorithm="HS256"),
            "an expired token (exp 10 minutes ago, correctly signed)": "Bearer "
            + jwt.encode(expired, SECRET, algorithm="HS256"),
            "an `alg: none` token with no signature": "Bearer "
            + f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
            "a token whose payload was changed (role admin) after signing": "Bearer "
            + f"{head}.{b64({**claims, 'role': 'admin'})}.{signature}",
            "a token with its signature removed": f"Bearer {head}.{payload}.",
        }
        for what, header in cases.items():
            r = await client.get("/me", headers={"Authorization": header} if header else {})
            expect_401(r, what)
        r = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
        expect(
            r.status_code == 200,
            f"GET /me with the real token, after the forged ones: {shown(r)}; expected 200.",
        )
        await (await db.observer()).execute("DELETE FROM users WHERE email = 'ada@example.com'")
        r = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
        expect_401(r, "a valid token of a user deleted since")


async def test_admin_users_is_403_for_users_and_200_for_admins(sub, db):
    await fresh(db)
    async with asgi_client(sub.create_app(db.engine(), secret=SECRET)) as client:
        await register(client, "ada@example.com")
        await register(client, "bob@example.com")
        r = await client.get("/admin/users")
        expect_401(r, "no token, on /admin/users")
        token = await token_for(client, "bob@example.com")
        r = await client.get("/admin/users", headers={"Authorization": f"Bearer {token}"})
        expect(
            r.status_code == 403,
            f"GET /admin/users as a user with role 'user': {shown(r)}; expected 403. "
            + LESSON.format("Roles"),
        )
        await (await db.observer()).execute(
            "UPDATE credentials SET role = 'admin' WHERE user_id = (SELECT id FROM users WHERE email = 'ada@example.com')"
        )
        token = await token_for(client, "ada@example.com")
        r = await client.get("/admin/users", headers={"Authorization": f"Bearer {token}"})
        expect(
            r.status_code == 200,
            f"GET /admin/users as an admin: {shown(r)}; expected 200. " + LESSON.format("Roles"),
        )
        expect("$argon2" not in r.text and "$2b$" not in r.text, "GET /admin/users shows password hashes.")


async def test_unknown_email_and_wrong_password_get_the_same_answer_in_comparable_time(sub, db):
    await fresh(db)
    async with asgi_client(sub.create_app(db.engine(), secret=SECRET)) as client:
        await register(client, "ada@example.com")
        known, unknown = [], []
        answers = []
        # Interleaved, 4 each (4 failures stay under the limit of 5); the first pair warms up.
        for i in range(4):
            for bucket, email in ((known, "ada@example.com"), (unknown, f"nobody{i}@example.com")):
                started = time.perf_counter()
                r = await login(client, email, "wrong password " + "x" * 8)
                bucket.append(time.perf_counter() - started)
                answers.append((email, r))
        for email, r in answers:
            expect(
                r.status_code == 401,
                f"POST /auth/token for {email!r} with a wrong password: {shown(r)}; expected 401.",
            )
        (_, first), (_, second) = answers[0], answers[1]
        same = first.text == second.text and first.headers.get("www-authenticate") == second.headers.get(
            "www-authenticate"
        )
        expect(
            same,
            f"A wrong password answers {first.text[:120]!r} (WWW-Authenticate {first.headers.get('www-authenticate')!r}), "
            f"an unknown email {second.text[:120]!r} (WWW-Authenticate {second.headers.get('www-authenticate')!r}): an "
            "attacker learns which emails exist. Answer both the same. "
            + LESSON.format("Login without leaks"),
        )
        k, u = statistics.median(known[1:]), statistics.median(unknown[1:])
        # A login that skips hashing for an unknown email is 10-100x faster than one verifying a hash; the
        # same work on both paths gives a ratio near 1. A factor of 4 absorbs the noise of a loaded machine.
        expect(
            u * 4 >= k,
            f"A wrong password took {k * 1000:.0f} ms (median), an unknown email {u * 1000:.0f} ms: the difference "
            "tells an attacker which emails exist. Verify against a dummy hash when the email is unknown. "
            + LESSON.format("Login without leaks"),
        )


def _second_instance(sub: Any) -> Any:
    """The submission imported again under another name: a second process's worth of module state."""
    path = inspect.getfile(sub.create_app)
    name = f"auth_second_instance_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


async def test_five_failed_logins_lock_the_email_across_instances_until_the_window_ends(sub, db):
    await fresh(db)
    other = _second_instance(sub)
    app_a = sub.create_app(db.engine(), secret=SECRET)
    app_b = other.create_app(db.engine(), secret=SECRET)
    async with asgi_client(app_a) as a, asgi_client(app_b) as b:
        await register(a, "eve@example.com")
        await register(a, "bob@example.com")
        for i, client in enumerate((a, a, b, b, a), start=1):
            r = await login(client, "eve@example.com", f"wrong password {i:02}")
            expect(
                r.status_code == 401, f"Failed login #{i} for 'eve@example.com': {shown(r)}; expected 401."
            )
        for client, which in ((b, "second"), (a, "first")):
            r = await login(client, "eve@example.com")
            retry = r.headers.get("retry-after", "")
            expect(
                r.status_code == 429,
                f"After 5 failed logins within 60 s (3 on one app instance, 2 on another, same database), the right "
                f"password on the {which} instance got {shown(r)}; expected 429: the attempts must be counted in "
                "login_attempts, not in memory. " + LESSON.format("Rate limiting through Postgres"),
            )
            expect(
                retry.isdigit() and 1 <= int(retry) <= 60,
                f"The 429 carries Retry-After {retry!r}; expected the seconds until the window ends (1 to 60).",
            )
        conn = await db.observer()
        failed = await conn.fetchval(
            "SELECT count(*) FROM login_attempts WHERE email = 'eve@example.com' AND NOT succeeded"
        )
        expect(
            failed >= 5, f"login_attempts holds {failed} failed attempts for the email; expected at least 5."
        )
        token = await token_for(b, "bob@example.com")
        expect(bool(token), "Another email must be unaffected.")
        # Age the attempts past the window, as 61 s would: the limit must follow login_attempts.created_at.
        await conn.execute("UPDATE login_attempts SET created_at = created_at - interval '61 seconds'")
        r = await login(a, "eve@example.com")
        expect(
            r.status_code == 200,
            f"Once every failed attempt is more than 60 s old (by login_attempts.created_at), the right password "
            f"got {shown(r)}; expected 200. " + LESSON.format("Rate limiting through Postgres"),
        )
