"""The `course` command. Commands only: the work happens in the modules they call."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from course import manifest, progress
from course.errors import CourseError, redact

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Python Backend Workshop: exercises graded against a live PostgreSQL.",
)
db_app = typer.Typer(no_args_is_help=True, help="Start, stop and inspect the course database.")
app.add_typer(db_app, name="db")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"


def _course() -> manifest.Course:
    return manifest.load()


def _status_of(exercise_id: str, data: dict) -> str:
    entry = data.get(exercise_id, {})
    return "done" if entry.get("passed_at") else entry.get("last_status", "")


# --- learner commands --------------------------------------------------------------------------------------


@app.command("list")
def list_() -> None:
    """Every exercise in course order, with its status."""
    course, data = _course(), progress.load()
    table = Table(title=course.title, show_lines=False)
    for column in ("id", "title", "points", "status"):
        table.add_column(column)
    for ex in course.exercises:
        status = _status_of(ex.id, data)
        table.add_row(ex.id, ex.title, str(ex.points), "[green]✓ done[/]" if status == "done" else status)
    out.print(table)
    out.print("Next: course next")


@app.command("next")
def next_() -> None:
    """The first exercise you have not passed yet, and where to start."""
    course = _course()
    ex = progress.first_unpassed(course)
    if ex is None:
        out.print("[green]Every exercise passes. Well done.[/] Next: course progress")
        return
    out.print(f"[bold]{ex.id}[/]: {ex.title}")
    out.print(f"  read   {ex.relative(ex.notebook)}")
    out.print(f"  edit   {ex.relative(ex.stub)}")
    out.print(f"Next: course check {ex.id}   (or `course watch` to check on every save)")


@app.command("progress")
def progress_() -> None:
    """A progress bar and a table per module."""
    from rich.progress_bar import ProgressBar

    course, data = _course(), progress.load()
    total = sum(ex.points for ex in course.exercises)
    earned = sum(ex.points for ex in course.exercises if _status_of(ex.id, data) == "done")
    out.print(f"[bold]{course.title}[/]: {earned}/{total} points")
    out.print(ProgressBar(total=max(total, 1), completed=earned, width=50))
    for module in course.modules:
        table = Table(title=f"{module.number}. {module.title}", title_justify="left")
        for column in ("exercise", "status", "points", "hints used"):
            table.add_column(column)
        for ex in module.exercises:
            entry = data.get(ex.id, {})
            status = _status_of(ex.id, data)
            table.add_row(
                ex.id,
                "[green]✓ done[/]" if status == "done" else status or "-",
                str(ex.points),
                f"{entry.get('hints', 0)}/{len(ex.hints)}",
            )
        out.print(table)
    out.print("Next: course next")


@app.command()
def hint(exercise_id: str) -> None:
    """The next hint of the exercise's ladder (one more each time you ask)."""
    ex = _course().exercise(exercise_id)
    if not ex.hints:
        out.print(f"{ex.id} has no hints. Reread {ex.relative(ex.notebook)}.")
        return
    rung, text = progress.next_hint(ex)
    out.print(f"[bold]Hint {rung}/{len(ex.hints)}[/] for {ex.id}:\n{text}")
    more = "run it again for the next hint" if rung < len(ex.hints) else "that was the last hint"
    out.print(f"Next: course check {ex.id}   ({more})")


def _resolve_submission(ex: manifest.Exercise, given: Optional[Path]) -> Path:
    if given is None:
        return ex.stub
    if given.is_dir():
        for candidate in (given / ex.module.folder / f"{ex.slug}.py", given / f"{ex.slug}.py"):
            if candidate.exists():
                return candidate
        return given / ex.module.folder / f"{ex.slug}.py"
    return given


@app.command()
def check(
    exercise_id: Annotated[Optional[str], typer.Argument(help="e.g. asyncio/bounded")] = None,
    submission: Annotated[
        Optional[Path],
        typer.Option(
            "--submission",
            "-s",
            help="Grade this file instead (with --all: a folder laid out like exercises/).",
        ),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    all_: Annotated[bool, typer.Option("--all", help="Grade every exercise of the course.")] = False,
    solution: Annotated[
        bool, typer.Option("--solution", help="Grade the reference solution (instructors).")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show output of passing checks too.")
    ] = False,
) -> None:
    """Grade an exercise against its checker on a fresh database. Exit 0 pass, 1 fail, 2 error."""
    from course import grader, report

    course = _course()
    if all_:
        exercises = course.exercises
    elif exercise_id:
        exercises = [course.exercise(exercise_id)]
    else:
        raise CourseError("Which exercise?", "course check asyncio/bounded   (or `course check --all`)")
    verdicts = []
    for ex in exercises:
        target = ex.solution if solution else _resolve_submission(ex, submission)
        try:
            verdict = grader.grade(ex, target)
        except CourseError as exc:
            if fmt is Format.json:  # a CI job still gets a report it can parse, with status "error"
                sys.stdout.write(
                    json.dumps({"version": 3, "status": "error", "message": str(exc), "tests": []}) + "\n"
                )
            raise
        if not solution and submission is None:
            progress.record(ex.id, verdict.status)
        verdicts.append(verdict)
        if fmt is Format.text:
            report.render_text(verdict, out, verbose=verbose)
    if fmt is Format.json:
        sys.stdout.write(report.render_json(verdicts) + "\n")
    elif fmt is Format.junit:
        sys.stdout.write(report.render_junit(verdicts) + "\n")
    if fmt is Format.text and len(verdicts) > 1:
        earned = sum(v.score for v in verdicts)
        out.print(
            f"[bold]{sum(v.status == 'pass' for v in verdicts)}/{len(verdicts)} exercises pass, "
            f"{earned}/{sum(v.exercise.points for v in verdicts)} points[/]"
        )
    codes = [v.exit_code for v in verdicts]
    raise typer.Exit(2 if 2 in codes else max(codes, default=0))


@app.command()
def watch(exercise_id: Annotated[Optional[str], typer.Argument()] = None) -> None:
    """Re-check the current exercise every time you save it (Ctrl-C to stop)."""
    from course.watch import run

    run(_course(), exercise_id, out)


def _backup(path: Path) -> Path:
    backups = path.parents[2] / ".course" / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    target = backups / f"{path.parent.name}.{path.stem}.{time.strftime('%Y%m%d-%H%M%S')}.py"
    shutil.copy2(path, target)
    return target


@app.command()
def reset(
    exercise_id: Annotated[Optional[str], typer.Argument()] = None,
    all_: Annotated[bool, typer.Option("--all", help="Reset every exercise.")] = False,
) -> None:
    """Restore an exercise's stub (your version is backed up in .course/backups) and forget its progress."""
    from course import pristine

    course = _course()
    if not all_ and not exercise_id:
        raise CourseError("Which exercise?", "course reset asyncio/bounded   (or `course reset --all`)")
    exercises = course.exercises if all_ else [course.exercise(exercise_id)]
    for ex in exercises:
        original = pristine.stub_text(ex)
        if ex.stub.exists() and ex.stub.read_text() != original:
            saved = _backup(ex.stub)
            out.print(f"backed up {ex.relative(ex.stub)} to {ex.relative(saved)}")
        ex.stub.write_text(original)
        progress.reset(ex.id)
        out.print(f"reset {ex.id}")
    out.print(f"Next: course check {exercises[0].id}" if len(exercises) == 1 else "Next: course next")


@app.command()
def solution(
    exercise_id: str,
    force: Annotated[bool, typer.Option("--force", help="Instructors: show it anyway.")] = False,
) -> None:
    """Show the reference solution, once your exercise passes."""
    ex = _course().exercise(exercise_id)
    if not force and not progress.passed(ex.id):
        raise CourseError(
            f"The solution of {ex.id} unlocks once your exercise passes.",
            f"course check {ex.id}   (or `course hint {ex.id}`)",
        )
    from rich.syntax import Syntax

    out.print(Syntax(ex.solution.read_text(), "python", line_numbers=True))
    out.print("Next: course next")


@app.command()
def doctor() -> None:
    """Everything that would stop the course: Python, database, server version, permissions."""
    from course import doctor as doc

    ok = doc.run(out)
    raise typer.Exit(0 if ok else 2)


@app.command(hidden=True)
def lab(port: int = 8888, no_browser: bool = True) -> None:
    """Start the database if needed, prepare the course and run JupyterLab on 127.0.0.1 (`make start`)."""
    from course import db as dbmod
    from course import lab as labmod

    course = _course()
    started_here = False
    try:
        server = dbmod.resolve()
        asyncio.run(dbmod.check_reachable(server))
    except CourseError:
        if os.environ.get("DATABASE_URL"):
            raise
        server = _start_backend(docker=os.environ.get("COURSE_DB") == "docker")
        started_here = True
    asyncio.run(labmod.prepare(server))
    out.print(f"database: {server.describe()}")
    welcome = course.welcome.relative_to(course.root)
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.root_dir={course.root}",
        f"--LabApp.default_url=/lab/tree/{welcome}",
    ]
    if no_browser:
        cmd.append("--no-browser")
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    out.print(
        "Starting JupyterLab; open the URL with the token printed below. Ctrl-C stops it"
        + (" and the database." if started_here else ".")
    )
    proc = subprocess.Popen(cmd, cwd=course.root)

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # `kill` stops it as cleanly as Ctrl-C
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=20)
    finally:
        if started_here:
            (dbmod.stop_docker if server.backend == "docker" else dbmod.stop_embedded)()
            out.print("stopped the course database")


# --- the database ------------------------------------------------------------------------------------------


def _start_backend(docker: bool) -> object:
    from course import db as dbmod

    return dbmod.start_docker() if docker else dbmod.start_embedded()


@db_app.command("start")
def db_start(
    docker: Annotated[
        bool, typer.Option("--docker", help="Use a PostgreSQL container (testcontainers).")
    ] = False,
) -> None:
    """Start the course database (embedded PostgreSQL 18 unless DATABASE_URL or --docker) and prepare it."""
    from course import db as dbmod
    from course import lab as labmod

    if os.environ.get("DATABASE_URL"):
        server = dbmod.resolve()
    else:
        server = _start_backend(docker or os.environ.get("COURSE_DB") == "docker")
    version = asyncio.run(dbmod.check_reachable(server))
    asyncio.run(labmod.prepare(server))
    out.print(f"[green]running[/]: {server.describe()} (PostgreSQL {version // 10000})")
    out.print("Next: course next")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the course database this checkout started (a DATABASE_URL server is left alone)."""
    from course import db as dbmod

    if os.environ.get("DATABASE_URL"):
        out.print("DATABASE_URL is set: that server is not ours to stop.")
        return
    stopped = dbmod.stop_docker() if dbmod._read_state().get("backend") == "docker" else dbmod.stop_embedded()
    out.print("stopped" if stopped else "it was not running")


@db_app.command("status")
def db_status() -> None:
    """Which server, whether it answers, its version, and leftover check databases."""
    from course import db as dbmod

    server = dbmod.resolve()
    version = asyncio.run(dbmod.check_reachable(server))
    out.print(f"[green]reachable[/]: {server.describe()}, PostgreSQL {version // 10000}.{version % 100}")


@db_app.command("url")
def db_url(
    admin: Annotated[
        bool, typer.Option("--admin", help="The superuser URL instead of your lab database's.")
    ] = False,
) -> None:
    """Print a connection URL (for psql or a GUI): your lab database by default."""
    from course import db as dbmod
    from course import lab as labmod

    print(dbmod.resolve().admin_url if admin else labmod.url())


@db_app.command("reset")
def db_reset() -> None:
    """Drop every course database and role (lab, template, leftovers) and prepare them afresh."""
    from course import db as dbmod
    from course import lab as labmod
    from course import sandbox

    async def go(server: dbmod.Server) -> list[str]:
        import asyncpg

        admin = await asyncpg.connect(server.admin_url)
        try:
            dropped = await sandbox.sweep(admin, server.admin_url, everything=True)
            await sandbox.drop_lab_and_templates(admin)
            return dropped
        finally:
            await admin.close()

    server = dbmod.resolve()
    asyncio.run(dbmod.check_reachable(server))
    dropped = asyncio.run(go(server))
    asyncio.run(labmod.prepare(server))
    out.print(
        f"reset: dropped {len(dropped)} leftover check databases/roles, rebuilt the template and your lab database"
    )


def main() -> None:
    """Entry point: course errors become a short message and an exit code, never our traceback."""
    try:
        from course import pristine

        pristine.snapshot_all(manifest.load())
    except CourseError:
        pass  # the command itself will say what is wrong
    try:
        app()
    except CourseError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        if exc.next_step:
            err.print(f"Next: {exc.next_step}")
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("stopped")
        raise SystemExit(130) from None
    except Exception:  # a bug of ours: keep the details in a file, show one line
        log = Path(".course-crash.txt")
        try:
            from course.db import state_dir

            log = state_dir() / "last-crash.txt"
        except Exception:
            pass
        log.write_text(redact(traceback.format_exc()))
        err.print(f"[bold red]internal error[/] in the course tool (details in {log}). Please report it.")
        raise SystemExit(3) from None


if __name__ == "__main__":
    main()
