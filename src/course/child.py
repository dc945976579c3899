"""The child process of a check: imports the submission by path, runs the checker's checks, reports each one.

It reports through a file descriptor the parent opened, one JSON line per event, each carrying the nonce
the parent sent before the submission was imported. The parent decides the verdict; nothing this process
prints or exits with is evidence of a pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import inspect
import io
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg

from course import checking, probes

DEFAULT_CHECK_TIMEOUT = 10.0
OUTPUT_CAP = 10_000


class CappedText(io.TextIOBase):
    """A text sink that keeps the first `cap` characters and counts the rest."""

    def __init__(self, cap: int = OUTPUT_CAP) -> None:
        self.cap, self.parts, self.size, self.dropped = cap, [], 0, 0
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            room = self.cap - self.size
            if room > 0:
                self.parts.append(text[:room])
                self.size += min(room, len(text))
            self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self) -> str:
        text = "".join(self.parts)
        return text + (f"\n[output cut: {self.dropped} more characters]" if self.dropped else "")


def _die_with_parent() -> None:
    """Linux: get SIGKILL if the grader dies, so a killed grader leaves no check running."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def checks_of(checker: ModuleType) -> list[tuple[str, Callable]]:
    return [
        (name, fn)
        for name, fn in vars(checker).items()
        if name.startswith("test_") and inspect.isfunction(fn) and fn.__module__ == checker.__name__
    ]


# --- tamper evidence ---------------------------------------------------------------------------------------

_GUARDED_ATTRS = {
    asyncio: [
        "sleep",
        "wait_for",
        "timeout",
        "timeout_at",
        "create_task",
        "gather",
        "wait",
        "all_tasks",
        "current_task",
        "get_running_loop",
        "TaskGroup",
        "Semaphore",
        "Event",
        "to_thread",
        "shield",
    ],
    asyncpg: ["connect", "create_pool", "Pool", "Connection"],
    time: ["monotonic", "perf_counter", "sleep"],
    os: ["write", "_exit"],
    json: ["dumps"],
    threading: ["get_ident", "Lock"],
}


def _snapshot(checker: ModuleType) -> dict[str, tuple[int, int | None]]:
    """Identity of everything a check relies on: the libraries' entry points and our own code."""
    snap: dict[str, tuple[int, int | None]] = {}

    def add(label: str, obj: Any) -> None:
        code = getattr(obj, "__code__", None)
        snap[label] = (id(obj), id(code) if code is not None else None)

    for owner, names in _GUARDED_ATTRS.items():
        for name in names:
            if hasattr(owner, name):
                add(f"{owner.__name__}.{name}", getattr(owner, name))
    classes = [
        asyncpg.Connection,
        asyncpg.Pool,
        asyncpg.pool.PoolConnectionProxy,
        asyncio.TaskGroup,
        asyncio.Task,
        asyncio.Event,
        asyncio.Semaphore,
        asyncio.BaseEventLoop,
    ]
    if "sqlalchemy.ext.asyncio" in sys.modules:  # only when a checker uses it: importing it costs ~0.2 s
        import sqlalchemy.event
        from sqlalchemy.engine import Connection, Engine
        from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

        for name in ("listen", "remove", "contains"):
            add(f"sqlalchemy.event.{name}", getattr(sqlalchemy.event, name))
        classes += [AsyncSession, AsyncEngine, AsyncConnection, Engine, Connection]
    import logging

    classes += [logging.Logger]
    if "httpx" in sys.modules:  # the client a checker drives an app with
        import httpx

        classes += [httpx.AsyncClient, httpx.ASGITransport, httpx.AsyncHTTPTransport]
    if "uvicorn" in sys.modules:
        import uvicorn

        classes += [uvicorn.Server]
    for module in (checking, probes, checker):
        for name, obj in vars(module).items():
            if inspect.isfunction(obj):
                add(f"{module.__name__}.{name}", obj)
            elif inspect.isclass(obj) and obj.__module__ == module.__name__:
                classes.append(obj)
    for cls in classes:
        for name, obj in vars(cls).items():
            if inspect.isfunction(obj) or isinstance(obj, (staticmethod, classmethod, property)):
                add(f"{cls.__module__}.{cls.__qualname__}.{name}", obj)
    return snap


def _tampered(before: dict, checker: ModuleType) -> list[str]:
    after = _snapshot(checker)
    return sorted(label for label, ident in before.items() if after.get(label) != ident)


# --- running one check -------------------------------------------------------------------------------------


def _submission_frames(tb: Any, submission: Path) -> list[traceback.FrameSummary]:
    path = str(submission)
    return [f for f in traceback.extract_tb(tb) if f.filename == path]


def _explain(exc: BaseException, submission: Path) -> str:
    frames = _submission_frames(exc.__traceback__, submission)
    lines = [f"Your code raised {checking.describe(exc)}."]
    for frame in frames[-3:]:
        lines.append(f"  {submission.name}, line {frame.lineno}, in {frame.name}")
        if frame.line:
            lines.append(f"    {frame.line}")
    return "\n".join(lines)


def _raised_in_submission(exc: BaseException, submission: Path) -> bool:
    return any(_submission_frames(e.__traceback__, submission) for e in checking.flatten(exc) + [exc])


def _is_not_implemented(exc: BaseException) -> bool:
    return any(isinstance(e, NotImplementedError) for e in checking.flatten(exc))


def run_check(name: str, fn: Callable, sub: Any, dsn: str, submission: Path, budget: float = 1e9) -> dict:
    """Run one check in a fresh event loop with a soft time limit; return its record.

    The soft limit is the check's own (10 s unless marked) but never past what remains of the exercise's
    budget, so that a check awaiting forever is reported by name before the parent's hard deadline.
    """
    output = CappedText()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(lambda _loop, ctx: output.write(f"[asyncio] {ctx.get('message')}\n"))
    db = checking.Database(dsn)
    params = inspect.signature(fn).parameters
    kwargs = {p: {"sub": sub, "db": db}[p] for p in params}
    limit = max(0.5, min(getattr(fn, "check_timeout", DEFAULT_CHECK_TIMEOUT), budget))
    record: dict[str, Any] = {"name": name, "status": "pass", "message": "", "not_implemented": False}
    started = time.perf_counter()

    async def body() -> None:
        result = fn(**kwargs)
        if inspect.isawaitable(result):
            await result

    timed_out = False

    def on_limit() -> None:
        nonlocal timed_out
        timed_out = True
        task.cancel()
        loop.call_later(1.0, loop.stop)  # a task that swallows the cancellation is abandoned

    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        task = loop.create_task(body())
        loop.call_later(limit, on_limit)
        try:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                loop.run_until_complete(task)
            if timed_out:
                record.update(
                    status="fail",
                    message=(
                        f"This check did not finish within {limit:.1f} s. Is your code waiting for something that never "
                        "happens, or swallowing a cancellation?"
                    ),
                )
            elif task.done() and not task.cancelled() and task.exception() is not None:
                record.update(_classify(task.exception(), submission))
            elif task.cancelled():
                record.update(
                    status="fail",
                    message="The check was cancelled from inside: does your code cancel "
                    "tasks it did not create (for example every task in asyncio.all_tasks())?",
                )
        except (SystemExit, KeyboardInterrupt) as exc:
            record.update(status="error", message=_exit_message(exc))
        finally:
            with contextlib.suppress(BaseException):
                loop.run_until_complete(asyncio.wait_for(db.close(), 3.0))
            for leftover in asyncio.all_tasks(loop):
                leftover.cancel()
            with contextlib.suppress(BaseException):
                pending = asyncio.all_tasks(loop)
                if pending:
                    loop.run_until_complete(asyncio.wait(pending, timeout=0.5))
            loop.close()
            asyncio.set_event_loop(None)
    record["duration"] = round(time.perf_counter() - started, 3)
    record["output"] = output.getvalue()
    return record


def _classify(exc: BaseException, submission: Path) -> dict:
    if isinstance(exc, (SystemExit, KeyboardInterrupt)):
        return {"status": "error", "message": _exit_message(exc)}
    if _is_not_implemented(exc) and _raised_in_submission(exc, submission):
        return {
            "status": "fail",
            "not_implemented": True,
            "message": "Still raises NotImplementedError: replace the TODO in your file with your code.",
        }
    if isinstance(exc, AssertionError) and not _raised_in_submission(exc, submission):
        return {"status": "fail", "message": str(exc) or "A check's expectation was not met."}
    if _raised_in_submission(exc, submission):
        return {"status": "fail", "message": _explain(exc, submission)}
    tb = "".join(traceback.format_exception(exc)[-6:])
    return {
        "status": "error",
        "message": f"The checker itself crashed; this is a bug in the course, please report it.\n{tb}",
    }


def _exit_message(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "Your code raised KeyboardInterrupt. Do not raise it yourself; let the caller decide when to stop."
    return (
        f"Your code called sys.exit({exc.code!r}). A function must return or raise, never end the process: "
        "remove the sys.exit call."
    )


# --- the whole run -----------------------------------------------------------------------------------------


def main(job: dict, result_fd: int) -> None:
    """Run every check of `job` and report them on `result_fd`. Never returns normally."""
    write, dumps, nonce = os.write, json.dumps, job["nonce"]

    def report(event: str, **fields: Any) -> None:
        line = dumps({"nonce": nonce, "event": event, **fields}) + "\n"
        with contextlib.suppress(OSError):
            write(result_fd, line.encode())

    deadline = time.monotonic() + float(job.get("time_limit", 30))
    sys.dont_write_bytecode = True
    submission = Path(job["submission"])
    checker = _load_module(f"course_checker_{job['slug']}", Path(job["checker"]))
    checks = checks_of(checker)
    before = _snapshot(checker)
    try:
        with contextlib.redirect_stdout(CappedText()) as import_out:
            module = _load_module(f"submission_{job['slug']}", submission)
    except SyntaxError as exc:
        report("fatal", kind="syntax", message=f"{exc.msg} (line {exc.lineno})")
        os._exit(0)
    except (SystemExit, KeyboardInterrupt) as exc:
        report(
            "fatal",
            kind="exit",
            message=_exit_message(exc).replace("Your code", "Your file, while being imported,"),
        )
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001 - any import-time failure is the learner's to fix
        report(
            "fatal",
            kind="import",
            message=_explain(exc, submission).replace("Your code raised", "Importing your file raised"),
        )
        os._exit(0)
    if import_out.getvalue().strip():
        print(import_out.getvalue(), end="")
    missing = _missing(module, getattr(checker, "REQUIRES", {}))
    if missing:
        defined = sorted(
            n
            for n, v in vars(module).items()
            if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == module.__name__
        )
        report("fatal", kind="missing", message=missing, defined=defined)
        os._exit(0)
    sub = type("Submission", (), {n: getattr(module, n) for n in getattr(checker, "REQUIRES", {})})
    tampered: list[str] = []
    for name, fn in checks:
        if tampered:
            report(
                "check",
                name=name,
                status="error",
                not_implemented=False,
                duration=0,
                output="",
                message=f"Not run: your code replaced {', '.join(tampered[:3])}.",
            )
            continue
        report("start", name=name)
        budget = deadline - time.monotonic() - 1.5  # leave time to clean up and report
        if budget < 0.5:
            report(
                "check",
                name=name,
                status="error",
                not_implemented=False,
                duration=0,
                output="",
                message="Not run: earlier checks used up the exercise's time limit.",
            )
            continue
        record = run_check(name, fn, sub, job["dsn"], submission, budget)
        tampered = _tampered(before, checker)
        if tampered:
            record.update(
                status="error",
                message=(
                    f"Your code replaced {', '.join(tampered[:3])}: the checks cannot trust what they observe after that. "
                    "Do not monkeypatch libraries in your solution."
                ),
            )
        report("check", **record)
    report("done", count=len(checks))
    sys.stdout.flush()
    os._exit(0)


def _missing(module: ModuleType, requires: dict[str, str]) -> str:
    problems = []
    for name, signature in requires.items():
        try:
            obj = getattr(module, name, None)
        except NotImplementedError:  # a stub's placeholder (module __getattr__): the checks report it
            continue
        if obj is None or not callable(obj):
            problems.append(f"expected `{signature}`")
            continue
        if signature.startswith("class "):
            continue
        wanted = signature.split("(", 1)[1].rsplit(")", 1)[0]
        params = [p.strip() for p in wanted.split(",") if p.strip()]
        star = next((i for i, p in enumerate(params) if p.startswith("*")), len(params))
        positional = [p for p in params[:star] if "=" not in p]
        # Parameters after `*` are keyword-only: the required ones are passed by name.
        keywords = {
            p.split(":")[0].strip(): None
            for p in params[star + 1 :]
            if "=" not in p and not p.startswith("**")
        }
        try:
            inspect.signature(obj).bind(*positional, **keywords)
        except TypeError:
            problems.append(f"`{name}` cannot be called as `{signature}`")
        except ValueError:
            pass  # no signature to inspect (a builtin or C callable): let the checks judge it
    return "; ".join(problems)


def entry() -> None:
    """`python -I -m course.child RESULT_FD`: the job arrives as JSON on stdin."""
    _die_with_parent()
    result_fd = int(sys.argv[1])
    job = json.loads(sys.stdin.read())
    sys.stdin.close()
    main(job, result_fd)


if __name__ == "__main__":
    entry()
