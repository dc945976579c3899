"""Grade one submission: a fresh sandbox database, a child process with a hard deadline, and a verdict.

The parent decides. A check passes only when the child reported it passed, once, with this run's nonce, on
the channel the parent opened. Exit codes, printed text, and a child that ends early or is killed are never
a pass. At the deadline the parent kills the child's whole process group and ends every session of the
check's role; the database and role are dropped whatever happened.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import os
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from course import db as dbmod
from course import sandbox
from course.errors import CourseError, DatabaseUnavailable, redact
from course.manifest import Exercise

OUTPUT_CAP = 10_000
RESULTS_CAP = 2_000_000
# Environment the child must not inherit: the admin URL above all.
_SECRET_ENV = ("DATABASE_URL", "PGPASSWORD", "PGUSER", "PGHOST", "PGDATABASE", "PGPORT", "PGSERVICE")


@dataclass
class CheckResult:
    name: str
    status: str  # pass | fail | error
    message: str = ""
    output: str = ""
    duration: float = 0.0
    not_implemented: bool = False

    @property
    def sentence(self) -> str:
        """`test_results_come_back_in_order` -> `results come back in order`."""
        return self.name.removeprefix("test_").replace("_", " ")


@dataclass
class Verdict:
    exercise: Exercise
    submission: Path
    status: str  # pass | fail | error | not attempted
    message: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    output: str = ""
    duration: float = 0.0

    @property
    def passed(self) -> int:
        return sum(c.status == "pass" for c in self.checks)

    @property
    def exit_code(self) -> int:
        return {"pass": 0, "fail": 1, "not attempted": 1}.get(self.status, 2)

    @property
    def score(self) -> int:
        return self.exercise.points if self.status == "pass" else 0


def expected_checks(checker: Path) -> list[str]:
    """The checks a checker defines, read from its source: the parent never trusts the child for this."""
    tree = ast.parse(checker.read_text(), str(checker))
    return [
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
    ]


def syntax_message(source: str, path: Path, display: str) -> str | None:
    """`None` if the file compiles; else file, line and a caret under the problem."""
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (exc.text or "").rstrip("\n")
        caret = " " * max(0, (exc.offset or 1) - 1 - (len(line) - len(line.lstrip()))) + "^"
        return f"{display}, line {exc.lineno}: {exc.msg}\n    {line.strip()}\n    {caret}"
    except ValueError as exc:  # e.g. null bytes
        return f"{display}: {exc}"
    return None


# --- launching the child -----------------------------------------------------------------------------------


@dataclass
class Child:
    pid: int
    out_fd: int
    result_fd: int
    popen: subprocess.Popen | None = None


def _child_env(dsn: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SECRET_ENV and not k.startswith("COURSE_")}
    env["DATABASE_URL"] = dsn
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def spawn_child(job: dict, cwd: str) -> Child:
    """A fresh interpreter in isolated mode (`-I`: no cwd or script folder on sys.path), in its own session."""
    out_r, out_w = os.pipe()
    res_r, res_w = os.pipe()
    try:
        popen = subprocess.Popen(
            [sys.executable, "-I", "-m", "course.child", str(res_w)],
            stdin=subprocess.PIPE,
            stdout=out_w,
            stderr=out_w,
            pass_fds=(res_w,),
            start_new_session=True,
            env=_child_env(job["dsn"]),
            cwd=cwd,
        )
    finally:
        os.close(out_w)
        os.close(res_w)
    assert popen.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        popen.stdin.write(json.dumps(job).encode())
        popen.stdin.close()
    return Child(popen.pid, out_r, res_r, popen)


def fork_child(job: dict, cwd: str) -> Child:
    """Fork this (warm) process: the heavy imports are already done, so a verdict comes sooner (`course watch`)."""
    out_r, out_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.setsid()
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            os.closerange(3, res_w)
            os.closerange(res_w + 1, 65536)
            os.chdir(cwd)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.environ.clear()
            os.environ.update(_child_env(job["dsn"]))
            from course import child

            child._die_with_parent()
            child.main(job, res_w)
        finally:
            os._exit(70)
    os.close(out_w)
    os.close(res_w)
    return Child(pid, out_r, res_r)


Launcher = Callable[[dict, str], Child]


@dataclass
class Supervised:
    output: str
    lines: list[str]
    timed_out: bool
    returncode: int | None


def supervise(child: Child, deadline: float, on_deadline: Callable[[], None]) -> Supervised:
    """Collect the child's output (first 10 KB) and reports until it exits or the deadline passes."""
    out, out_size, dropped, results = bytearray(), 0, 0, bytearray()
    sel = selectors.DefaultSelector()
    sel.register(child.out_fd, selectors.EVENT_READ, "out")
    sel.register(child.result_fd, selectors.EVENT_READ, "res")
    open_fds = 2
    timed_out = False
    returncode = None
    exited_at: float | None = None
    while open_fds:
        now = time.monotonic()
        if returncode is None:
            returncode = _poll(child)
            if returncode is not None:
                exited_at = now
        if returncode is None and now >= deadline:
            timed_out = True
            on_deadline()
            break
        if exited_at is not None and now - exited_at > 0.3:
            break  # a grandchild keeps the pipes open; it is killed with the group below
        for key, _ in sel.select(timeout=0.05):
            chunk = os.read(key.fd, 65536)
            if not chunk:
                sel.unregister(key.fd)
                open_fds -= 1
            elif key.data == "out":
                keep = chunk[: max(0, OUTPUT_CAP - out_size)]
                out += keep
                out_size += len(keep)
                dropped += len(chunk) - len(keep)
            elif len(results) < RESULTS_CAP:
                results += chunk
    sel.close()
    _kill_group(child)
    if returncode is None:
        returncode = _wait(child)
    os.close(child.out_fd)
    os.close(child.result_fd)
    text = out.decode(errors="replace")
    if dropped:
        text += f"\n[output cut: kept the first {OUTPUT_CAP // 1000} KB, dropped {dropped} more bytes]"
    return Supervised(text, results.decode(errors="replace").splitlines(), timed_out, returncode)


def _poll(child: Child) -> int | None:
    if child.popen is not None:
        return child.popen.poll()
    pid, status = os.waitpid(child.pid, os.WNOHANG)
    return None if pid == 0 else os.waitstatus_to_exitcode(status)


def _wait(child: Child) -> int:
    if child.popen is not None:
        return child.popen.wait()
    _, status = os.waitpid(child.pid, 0)
    return os.waitstatus_to_exitcode(status)


def _kill_group(child: Child) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)


# --- the verdict -------------------------------------------------------------------------------------------


def _read_reports(lines: list[str], nonce: str) -> tuple[list[dict], list[str]]:
    """Reports carrying our nonce, and a list of reasons not to trust the channel."""
    events, problems = [], []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            problems.append("unreadable line")
            continue
        if not isinstance(event, dict) or event.get("nonce") != nonce:
            problems.append("a line without this run's nonce")
            continue
        events.append(event)
    return events, problems


def decide(
    exercise: Exercise, submission: Path, expected: list[str], sup: Supervised, nonce: str, time_limit: float
) -> Verdict:
    events, problems = _read_reports(sup.lines, nonce)
    verdict = Verdict(exercise, submission, "fail", output=sup.output)
    fatal = next((e for e in events if e.get("event") == "fatal"), None)
    display = exercise.relative(submission)
    if fatal:
        verdict.status = "error"
        kind = fatal.get("kind")
        if kind == "missing":
            defined = ", ".join(fatal.get("defined") or []) or "nothing callable"
            verdict.message = f"{display}: {fatal['message']}. Your file defines: {defined}."
        elif kind == "syntax":
            verdict.message = f"{display}: syntax error: {fatal['message']}"
        else:
            verdict.message = f"{display}: {fatal['message']}"
        return verdict
    reported: dict[str, dict] = {}
    for event in events:
        if event.get("event") != "check":
            continue
        name = event.get("name")
        if name in reported or name not in expected:
            problems.append(f"check {name!r} reported twice or unknown")
        reported[name] = event
    for name in expected:
        event = reported.get(name)
        if event is None:
            running = [e.get("name") for e in events if e.get("event") == "start"][-1:] == [name]
            why = (
                "was running when the time limit was reached"
                if running and sup.timed_out
                else "not run: the time limit was reached"
                if sup.timed_out
                else "was running when the process ended"
                if running
                else "not run: the process ended first"
            )
            verdict.checks.append(CheckResult(name, "error", why))
            continue
        status = event.get("status") if event.get("status") in ("pass", "fail", "error") else "error"
        verdict.checks.append(
            CheckResult(
                name,
                status,
                str(event.get("message", "")),
                str(event.get("output", "")),
                float(event.get("duration", 0)),
                bool(event.get("not_implemented")),
            )
        )
    done = any(e.get("event") == "done" for e in events)
    if problems:
        verdict.status = "error"
        verdict.message = (
            "The report channel was tampered with (" + problems[0] + "); no check can count as passed."
        )
        for check in verdict.checks:
            if check.status == "pass":
                check.status, check.message = "error", "Not trusted: the report channel was tampered with."
    elif sup.timed_out:
        verdict.status = "error"
        started = [e.get("name") for e in events if e.get("event") == "start"]
        during = (
            f" during the check '{started[-1].removeprefix('test_').replace('_', ' ')}'" if started else ""
        )
        verdict.message = (
            f"Timed out after {time_limit:g} s{during}: is something blocking the event loop (a "
            "time.sleep, a busy loop, a blocking call without asyncio.to_thread), or waiting for "
            "something that never happens?"
        )
    elif not done or len(reported) < len(expected):
        verdict.status = "error"
        verdict.message = (
            f"The process ended (exit code {sup.returncode}) before every check ran. Does your code "
            "call os._exit, kill its own process, or crash the interpreter?"
        )
    elif all(c.status == "pass" for c in verdict.checks):
        verdict.status = "pass"
        verdict.message = f"All {len(expected)} checks passed."
    elif all(c.not_implemented for c in verdict.checks if c.status != "pass") and verdict.passed == 0:
        verdict.status = "not attempted"
        verdict.message = (
            f"{display} still raises NotImplementedError. Replace the TODO with your code; "
            f"the lesson is {exercise.relative(exercise.notebook)}."
        )
    else:
        verdict.status = "error" if any(c.status == "error" for c in verdict.checks) else "fail"
        verdict.message = f"{verdict.passed} of {len(expected)} checks passed."
    return verdict


def grade(
    exercise: Exercise, submission: Path, *, launcher: Launcher = spawn_child, time_limit: float | None = None
) -> Verdict:
    """Grade `submission` against `exercise`'s checker. Raises DatabaseUnavailable if the server is down."""
    started = time.perf_counter()
    submission = submission.resolve()
    display = exercise.relative(submission)
    limit = time_limit or exercise.time_limit
    try:
        source = submission.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        return Verdict(
            exercise,
            submission,
            "error",
            f"Cannot read {display}: {exc.__class__.__name__}. "
            f"Check the path, or restore the stub with `course reset {exercise.id}`.",
        )
    if message := syntax_message(source, submission, display):
        return Verdict(exercise, submission, "error", f"Syntax error in {message}")
    if not exercise.checker.is_file():
        raise CourseError(
            f"The checker of {exercise.id} is missing ({exercise.relative(exercise.checker)}).",
            "Restore it from the course repository (git checkout -- checkers), then `course doctor`.",
        )
    expected = expected_checks(exercise.checker)
    server = dbmod.resolve()
    loop = asyncio.new_event_loop()
    try:
        admin = loop.run_until_complete(_admin_connect(server))
        try:
            template = loop.run_until_complete(_prepare(admin, server.admin_url))
            box = loop.run_until_complete(sandbox.create(admin, server.admin_url, template))
            try:
                verdict = _run(exercise, submission, expected, box, launcher, limit, loop, admin)
            finally:
                loop.run_until_complete(sandbox.drop(admin, box.name))
        finally:
            loop.run_until_complete(admin.close())
    finally:
        loop.close()
    verdict.duration = time.perf_counter() - started
    return verdict


def _run(
    exercise: Exercise,
    submission: Path,
    expected: list[str],
    box: sandbox.Sandbox,
    launcher: Launcher,
    limit: float,
    loop: asyncio.AbstractEventLoop,
    admin,
) -> Verdict:
    nonce = secrets.token_hex(16)
    job = {
        "nonce": nonce,
        "dsn": box.url,
        "submission": str(submission),
        "checker": str(exercise.checker),
        "slug": exercise.slug,
        "exercise": exercise.id,
        "time_limit": limit,
    }
    with tempfile.TemporaryDirectory(prefix="course-check-") as cwd:
        child = launcher(job, cwd)

        def on_deadline() -> None:
            _kill_group(child)
            loop.run_until_complete(sandbox.terminate_backends(admin, box.name))

        sup = supervise(child, time.monotonic() + limit, on_deadline)
    sup.output = redact(sup.output)
    return decide(exercise, submission, expected, sup, nonce, limit)


async def _admin_connect(server: dbmod.Server):
    import asyncpg

    try:
        return await asyncpg.connect(server.admin_url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailable(
            f"Cannot reach the course database ({server.describe()}): {type(exc).__name__}.",
            dbmod.start_instructions(server.backend),
        ) from None


async def _prepare(admin, admin_url: str) -> str:
    await sandbox.sweep(admin, admin_url)
    return await sandbox.ensure_template(admin, admin_url)
