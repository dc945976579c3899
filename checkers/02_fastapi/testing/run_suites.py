"""Run one pytest module several times in one process, each time against another copy of the users app.

    python run_suites.py SUBMISSION WORKDIR APP...   (APP: a file for COURSE_USERS_APP, or "-" for the real app)

Starting pytest costs seconds on a loaded machine; the checker pays it once. Before each run the tables are
emptied (asyncpg on CHECK_DSN) and the modules that captured `create_app` are forgotten, so the test module
imports the app afresh. Run i writes WORKDIR/report_i.xml; a run against a copy stops at its first failure;
when the first run is the real app's and fails, the others are skipped.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
import pytest

TABLES = "users, credentials, orders, order_items, products, accounts, login_attempts, audit_events"


async def empty_tables(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


def forget_modules(submission: Path) -> None:
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name in ("course.apps.users", "course_apps_users_under_test") or (
            file and Path(file) == submission
        ):
            del sys.modules[name]


def main() -> None:
    submission, workdir, apps = Path(sys.argv[1]).resolve(), Path(sys.argv[2]), sys.argv[3:]
    ini = workdir / "pytest.ini"
    ini.write_text("[pytest]\n")
    for i, app in enumerate(apps):
        asyncio.run(empty_tables(os.environ["CHECK_DSN"]))
        os.environ.pop("COURSE_USERS_APP", None)
        if app != "-":
            os.environ["COURSE_USERS_APP"] = app
        forget_modules(submission)
        args = [str(submission), "-c", str(ini), "--rootdir", str(workdir), "-q", "-p", "no:cacheprovider"]
        args += [
            "-p",
            "no:unraisableexception",
            "-p",
            "no:threadexception",
            "-p",
            "no:faulthandler",
            "--noconftest",
            f"--junitxml={workdir / f'report_{i}.xml'}",
            "--tb=short",
        ]
        if app != "-":
            args.append("-x")
        print(f"=== run {i}: {app}", flush=True)
        code = pytest.main(args)
        sys.stdout.flush()
        if app == "-" and i == 0 and code != 0 and len(apps) > 1:
            break  # failing against the real app: the copies' runs would prove nothing


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # whatever threads a suite left behind, the reports are written
