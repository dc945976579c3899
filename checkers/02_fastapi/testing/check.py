"""Checks for fastapi/testing: the learner's pytest module, judged by the bugs it catches.

The suite runs in a subprocess (`python -m pytest FILE`, no conftest, an empty ini) with DATABASE_URL set to
the check database's SQLAlchemy URL. The app under test is chosen with COURSE_USERS_APP: when it names a
file, `course.apps.users.create_app` is that file's `create_app` (see src/course/apps/users.py). The suite
must pass against the real app and a rewritten but equivalent copy, fail against every mutant, and leave the
tables as it found them (empty). Mutants are made from the real app's source by one textual change each.
Runs are sequential: they share the check database (about 1-2 s each).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from course.apps import users as users_app
from course.checking import Database, check_timeout, expect, fail

REQUIRES: dict[str, str] = {}
LESSON = "See notebook 02_fastapi/06, '{}'."
HERE = Path(__file__).parent
TABLES = (
    "users",
    "credentials",
    "orders",
    "order_items",
    "products",
    "accounts",
    "login_attempts",
    "audit_events",
)

# (what is broken, said to the learner; the text replaced in the real app; its replacement)
MUTANTS: list[tuple[str, str, str]] = [
    (
        "GET /users/{id} of an unknown id answers 200 with null instead of 404",
        """    @app.get("/users/{user_id}", response_model=UserOut)
    async def get_user(user_id: uuid.UUID, session: Session) -> User:
        user = await session.get(User, user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        return user""",
        """    @app.get("/users/{user_id}", response_model=UserOut | None)
    async def get_user(user_id: uuid.UUID, session: Session) -> User | None:
        return await session.get(User, user_id)""",
    ),
    (
        "a duplicate email answers 500 instead of 409",
        """        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            raise HTTPException(409, "email already registered") from None""",
        "        await session.commit()",
    ),
    (
        "a duplicate email answers 201 (with the existing user) instead of 409",
        """            raise HTTPException(409, "email already registered") from None
        await session.refresh(user)""",
        """            return await session.scalar(select(User).where(User.email == body.email))
        await session.refresh(user)""",
    ),
    ("limit is ignored", ".order_by(User.email).limit(limit)", ".order_by(User.email)"),
    ("the list is ordered by email descending", ".order_by(User.email)", ".order_by(User.email.desc())"),
    (
        "DELETE answers 204 but is never committed",
        """        await session.delete(user)
        await session.commit()""",
        "        await session.delete(user)",
    ),
    ("POST /users answers 200 instead of 201", '@app.post("/users", status_code=201,', '@app.post("/users",'),
    (
        "an empty name is accepted",
        "name: str = Field(min_length=1, max_length=100)",
        "name: str = Field(max_length=100)",
    ),
    ("a malformed email is accepted", "    email: EmailStr\n    name", "    email: str\n    name"),
    (
        "DELETE of an unknown id answers 204 instead of 404",
        """        if user is None:
            raise HTTPException(404, "user not found")
        await session.delete(user)""",
        """        if user is None:
            return Response(status_code=204)
        await session.delete(user)""",
    ),
]


@dataclass
class Run:
    passed: int
    failed: int
    output: str
    not_implemented: bool


def submission_path() -> Path:
    """The learner's file, as the grader imported it (the module `submission_<slug>`)."""
    for name, module in list(sys.modules.items()):
        if name.startswith("submission_") and getattr(module, "__file__", None):
            return Path(module.__file__)
    fail("The checker could not find your file (a bug in the course, please report it).")


async def run_suites(db: Database, apps: list[Path | None]) -> list[Run]:
    """Run the learner's tests once per app (None: the real app), in one pytest process (run_suites.py)."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = {
            **os.environ,
            "DATABASE_URL": db.sqlalchemy_url,
            "CHECK_DSN": db.dsn,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.pop("COURSE_USERS_APP", None)
        names = [str(app) if app else "-" for app in apps]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "run_suites.py"),
            str(submission_path()),
            str(workdir),
            *names,
            env=env,
            cwd=workdir,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(process.communicate(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
            fail(
                "Your tests did not finish within 30 s. Is a fixture waiting for something that never happens?"
            )
        output = out.decode(errors="replace")
        chunks = output.split("=== run ")[1:]
        runs = []
        for i in range(len(apps)):
            report = workdir / f"report_{i}.xml"
            text = chunks[i] if i < len(chunks) else ""
            if i > 0 and runs and apps[0] is None and runs[0].failed:
                runs.append(Run(0, 0, "", False))  # skipped: the suite already fails against the real app
                continue
            if not report.exists():
                fail(f"pytest could not run your file:\n{(text or output)[-1500:]}")
            runs.append(_parse(report, text))
        return runs


def _parse(report: Path, output: str) -> Run:
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    total = int(suite.get("tests", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped = int(suite.get("skipped", 0))
    texts = [(e.get("message") or "") + (e.text or "") for e in suite.iter() if e.tag in ("failure", "error")]
    not_implemented = bool(texts) and all("NotImplementedError" in t for t in texts)
    return Run(total - failed - skipped, failed, output, not_implemented)


def stub_surfaces(run: Run) -> None:
    """An untouched stub: raise NotImplementedError as if from the learner's file, so it counts as not attempted."""
    if run.not_implemented and run.passed == 0:
        exec(compile("raise NotImplementedError", str(submission_path()), "exec"))  # noqa: S102


async def leftover_rows(db: Database) -> dict[str, int]:
    conn = await db.observer()
    counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
    return {t: n for t, n in counts.items() if n}


async def test_your_tests_pass_against_the_app_and_leave_no_rows(db):
    (run,) = await run_suites(db, [None])
    stub_surfaces(run)
    expect(
        run.passed + run.failed > 0,
        "pytest collected no test from your file: name test functions `test_...`. "
        + LESSON.format("Fixtures: a client with the lifespan"),
    )
    expect(
        run.failed == 0 and run.passed > 0,
        f"Against the real app, {run.failed} of your tests failed ({run.passed} passed); all must pass. pytest said:\n"
        + run.output[-1500:]
        + "\n"
        + LESSON.format("Fixtures: a client with the lifespan"),
    )
    left = await leftover_rows(db)
    expect(
        not left,
        f"After your tests ran, rows remain: {left}. Clean up (delete what you created, or roll back) in your "
        "fixtures, also when a test fails. " + LESSON.format("Rollback fixtures"),
    )


async def test_your_tests_pass_against_an_equivalent_rewrite_of_the_app(db):
    (run,) = await run_suites(db, [HERE / "app_rewritten.py"])
    stub_surfaces(run)
    expect(
        run.failed == 0 and run.passed > 0,
        f"Against a rewritten app that behaves exactly like the real one over HTTP (other names, other code), "
        f"{run.failed} of your tests failed. Test behaviour (status codes, bodies, what the database keeps), "
        "never the app's code or internals. pytest said:\n"
        + run.output[-1200:]
        + "\n"
        + LESSON.format("Judging a test suite by the bugs it catches"),
    )


@check_timeout(40)
async def test_your_tests_catch_every_broken_copy_of_the_app(db):
    source = Path(users_app.__file__).read_text()  # noqa: ASYNC240 - a small local file
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, (what, old, new) in enumerate(MUTANTS):
            # One change each; it must apply exactly once, or the course's app changed under the mutant.
            assert source.count(old) == 1, f"mutant {what!r} no longer applies to course/apps/users.py"
            files.append(Path(tmp) / f"mutant_{i}.py")
            files[-1].write_text(source.replace(old, new))
        real, *runs = await run_suites(db, [None, *files])
    stub_surfaces(real)
    expect(
        real.failed == 0 and real.passed > 0,
        f"Your tests do not all pass against the real app ({real.failed} failed, {real.passed} passed): a bug "
        "caught by a failing suite means nothing. Make them pass first (see the first check).",
    )
    survivors = [what for (what, _, _), run in zip(MUTANTS, runs, strict=True) if run.failed == 0]
    expect(
        not survivors,
        f"{len(survivors)} of {len(MUTANTS)} broken copies of the app passed all your tests:\n"
        + "\n".join(f"  - {s}" for s in survivors)
        + "\nAdd tests that would fail on these bugs. "
        + LESSON.format("Judging a test suite by the bugs it catches"),
    )
