"""`course watch`: re-check the current exercise on every save.

This process stays warm (the heavy imports done once) and forks a child per check, so that the verdict
arrives well under a second after the save. Polling the file's mtime every 50 ms keeps the process
single-threaded, which makes fork safe.
"""

from __future__ import annotations

import importlib
import time
import warnings

from rich.console import Console

from course import grader, progress, report
from course.manifest import Course, Exercise

POLL_S = 0.05
# Imported once here so that each forked check starts warm.
WARM_MODULES = ("asyncpg", "course.child", "course.checking", "course.probes")
OPTIONAL_WARM = ("sqlalchemy.ext.asyncio", "fastapi", "httpx", "aiohttp")


def warm_up() -> None:
    for name in WARM_MODULES:
        importlib.import_module(name)
    for name in OPTIONAL_WARM:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _mtime(ex: Exercise) -> float:
    try:
        return ex.stub.stat().st_mtime_ns
    except OSError:
        return 0


def check_once(ex: Exercise, out: Console) -> grader.Verdict:
    verdict = grader.grade(ex, ex.stub, launcher=grader.fork_child)
    progress.record(ex.id, verdict.status)
    report.render_text(verdict, out)
    return verdict


def run(course: Course, exercise_id: str | None, out: Console, *, max_checks: int | None = None) -> None:
    """Watch one exercise (or the first not yet passed, moving on after each pass). Ctrl-C stops."""
    warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork.*")
    warm_up()
    ex = course.exercise(exercise_id) if exercise_id else progress.first_unpassed(course)
    if ex is None:
        out.print("[green]Every exercise passes.[/] Next: course progress")
        return
    checks = 0
    out.print(f"Watching {ex.relative(ex.stub)}: save it to check. Ctrl-C stops.")
    verdict = check_once(ex, out)
    checks += 1
    seen = _mtime(ex)
    try:
        while max_checks is None or checks < max_checks:
            time.sleep(POLL_S)
            if verdict.status == "pass" and exercise_id is None:
                following = progress.first_unpassed(course)
                if following is None:
                    out.print("[green]Every exercise passes.[/] Next: course progress")
                    return
                if following != ex:
                    ex = following
                    out.print(
                        f"\nNext exercise: [bold]{ex.id}[/] ({ex.relative(ex.stub)}); read "
                        f"{ex.relative(ex.notebook)}"
                    )
                    seen = _mtime(ex)
                    verdict = grader.Verdict(ex, ex.stub, "not attempted")
            now = _mtime(ex)
            if now != seen:
                seen = now
                out.rule(time.strftime("%H:%M:%S"))
                verdict = check_once(ex, out)
                checks += 1
    except KeyboardInterrupt:
        out.print("\nstopped watching. Next: course next")
