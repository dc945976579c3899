"""Speed numbers the learner feels, printed, never asserted (`make bench`; `--full` adds fresh-clone timings).

floor       python -c "import sqlalchemy.ext.asyncio, fastapi, asyncpg, pytest"
check       `course check` end to end (CLI process, sandbox, child, verdict) on a warm database
watch       save-to-verdict of `course watch` (warm process, fork per check)
sandbox     CREATE DATABASE ... TEMPLATE + role, and dropping them
--full      `make start` on a fresh clone until JupyterLab answers, and `make test` in total
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "course"
PY = sys.executable
COURSE = str(Path(PY).with_name("course"))


def timed(cmd: list[str], env: dict | None = None) -> float:
    """Seconds one command takes; it must succeed, or the number would be meaningless."""
    started = time.perf_counter()
    result = subprocess.run(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, text=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed ({result.returncode}): {result.stderr[-500:]}")
    return elapsed


def _env(**extra: str) -> dict[str, str]:
    """Our environment with the course database named explicitly, for commands run in another course root."""
    from course import db

    return {**os.environ, "DATABASE_URL": db.resolve().admin_url, **extra}


def show(label: str, samples: list[float], target: str = "") -> None:
    med = statistics.median(samples)
    print(
        f"{label:<46} median {med:6.3f} s   min {min(samples):6.3f}   max {max(samples):6.3f}   n={len(samples)}"
        + (f"   (target {target})" if target else "")
    )


def bench_floor(n: int) -> None:
    show(
        "import floor (sqlalchemy, fastapi, asyncpg, pytest)",
        [timed([PY, "-c", "import sqlalchemy.ext.asyncio, fastapi, asyncpg, pytest"]) for _ in range(n)],
    )


def bench_check(n: int) -> None:
    env = _env(COURSE_ROOT=str(FIXTURE))
    cmd = [COURSE, "check", "demo/add", "-s", str(FIXTURE / "submissions" / "passes.py")]
    timed(cmd, env)  # warm the template
    show("course check, checks that do not sleep (demo/add)", [timed(cmd, env) for _ in range(n)], "<= 1.5 s")
    from course import manifest

    for ex in manifest.load(ROOT).exercises:
        if ex.solution.exists() and ex.checker.exists():
            runs = max(1, n // 5)
            show(
                f"course check {ex.id} --solution",
                [timed([COURSE, "check", ex.id, "--solution"]) for _ in range(runs)],
            )


def bench_watch(n: int) -> None:
    """Start `course watch` on a scratch copy of the fixture, save the file n times, time each verdict."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["cp", "-r", f"{FIXTURE}/.", tmp], check=True)
        target = Path(tmp) / "exercises" / "01_demo" / "add.py"
        passing = (FIXTURE / "submissions" / "passes.py").read_text()
        env = _env(COURSE_ROOT=tmp)
        proc = subprocess.Popen(
            [COURSE, "watch", "demo/add"], env=env, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        assert proc.stdout is not None
        samples = []
        try:
            _read_until(proc, "Next:")  # the first verdict, at start
            for i in range(n):
                time.sleep(0.2)
                started = time.perf_counter()
                target.write_text(passing + f"\n# save {i}\n")
                _read_until(proc, "Next:")
                samples.append(time.perf_counter() - started)
        finally:
            proc.terminate()
            proc.wait(10)
    show("course watch, save to verdict (demo/add)", samples, "<= 0.5 s")


def _read_until(proc: subprocess.Popen, marker: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if marker in line:
            return
    raise RuntimeError("course watch ended early")


def bench_sandbox(n: int) -> None:
    import asyncpg

    from course import db, sandbox

    async def go() -> tuple[list[float], list[float]]:
        server = db.resolve()
        admin = await asyncpg.connect(server.admin_url)
        created, dropped = [], []
        try:
            template = await sandbox.ensure_template(admin, server.admin_url)
            for _ in range(n):
                t = time.perf_counter()
                box = await sandbox.create(admin, server.admin_url, template)
                created.append(time.perf_counter() - t)
                t = time.perf_counter()
                await sandbox.drop(admin, box.name)
                dropped.append(time.perf_counter() - t)
        finally:
            await admin.close()
        return created, dropped

    created, dropped = asyncio.run(go())
    show("fresh check database + role (create)", created, "<= 0.100 s")
    show("dropping it (terminate, DROP ... WITH (FORCE))", dropped)


def bench_fresh_clone() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "c"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "COURSE_ROOT", "VIRTUAL_ENV")}
        env["PATH"] = ":".join(p for p in env["PATH"].split(":") if ".venv" not in p)
        port = 8899
        started = time.perf_counter()
        proc = subprocess.Popen(
            ["make", "start"],
            cwd=clone,
            env={**env, "COURSE_LAB_PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=1)
                    break
                except OSError:
                    if proc.poll() is not None:
                        raise RuntimeError("make start ended before JupyterLab answered") from None
                    time.sleep(0.5)
            print(
                f"{'make start on a fresh clone until JupyterLab answers':<46} {time.perf_counter() - started:7.1f} s"
            )
        finally:
            os.killpg(proc.pid, 2)
            proc.wait(60)
        started = time.perf_counter()
        subprocess.run(["rm", "-rf", ".venv", ".course"], cwd=clone)
        result = subprocess.run(["make", "test"], cwd=clone, env=env, capture_output=True, text=True)
        tail = result.stdout.strip().splitlines()[-1:] or ["?"]
        print(
            f"{'make test on a fresh clone (venv included)':<46} {time.perf_counter() - started:7.1f} s   {tail[0]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=10, help="samples per measurement")
    parser.add_argument("--only", nargs="*", choices=["floor", "sandbox", "check", "watch"])
    parser.add_argument(
        "--full", action="store_true", help="also time make start and make test on a fresh clone"
    )
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    from course import db
    from course.errors import CourseError

    try:
        asyncio.run(db.check_reachable(db.resolve()))
    except CourseError:
        print("starting the embedded database (course db start)")
        db.start_embedded()
    only = set(args.only or ["floor", "sandbox", "check", "watch"])
    for name, fn in (
        ("floor", bench_floor),
        ("sandbox", lambda n: bench_sandbox(n * 2)),
        ("check", bench_check),
        ("watch", bench_watch),
    ):
        if name in only:
            fn(args.n)
    if args.full:
        bench_fresh_clone()


if __name__ == "__main__":
    main()
