"""The grader against a fixture course whose submissions are named for their outcome.

Each bad input gets the right status and a message that says what to do; none passes by cheating; nothing
is left behind on the server or in the process table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import psutil
import pytest

from conftest import ROOT, leftovers
from course import grader, manifest

FIXTURE = ROOT / "tests" / "fixtures" / "course"
SUBMISSIONS = FIXTURE / "submissions"


@pytest.fixture(scope="module")
def exercise() -> manifest.Exercise:
    return manifest.load(FIXTURE).exercise("demo/add")


def grade(exercise: manifest.Exercise, name: str, **kwargs) -> grader.Verdict:
    return grader.grade(exercise, SUBMISSIONS / name, **kwargs)


# name -> (status, a phrase the message must contain)
GOLDEN = {
    "passes.py": ("pass", "All 3 checks passed"),
    "untouched_stub.py": ("not attempted", "still raises NotImplementedError"),
    "syntax_error.py": ("error", "line 1: expected ':'"),
    "import_error.py": ("error", "No module named 'asyncpg_typo'"),
    "missing_function.py": (
        "error",
        "expected `async def add(pool, a, b)`. Your file defines: addition, helper",
    ),
    "wrong_signature.py": ("error", "cannot be called as `async def add(pool, a, b)`"),
    "wrong_result.py": ("fail", "1 of 3 checks passed"),
    "raises_in_code.py": ("fail", "0 of 3 checks passed"),
    "keeps_the_connection.py": ("fail", "2 of 3 checks passed"),
    "sys_exit_on_import.py": ("error", "while being imported, called sys.exit(0)"),
    "os_exit_zero.py": ("error", "before every check ran"),
    "fake_report_on_stdout.py": ("fail", "1 of 3 checks passed"),
    "forges_report_fd.py": ("error", "tampered"),
    "patches_asyncpg.py": ("error", "0 of 3 checks passed"),
    "prints_50mb.py": ("pass", "All 3 checks passed"),
    "leaves_a_thread.py": ("pass", "All 3 checks passed"),
    "reads_admin_url.py": ("pass", "All 3 checks passed"),
    "connects_to_another_database.py": ("fail", "0 of 3 checks passed"),
    "sys_exit_in_call.py": ("error", "0 of 3 checks passed"),
    "keyboard_interrupt.py": ("error", "0 of 3 checks passed"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_each_submission_gets_its_verdict(exercise, name):
    status, phrase = GOLDEN[name]
    verdict = grade(exercise, name)
    assert verdict.status == status, (
        verdict.status,
        verdict.message,
        [(c.name, c.message) for c in verdict.checks],
    )
    assert phrase in verdict.message
    assert "Traceback" not in verdict.message


def test_every_submission_in_the_fixture_has_a_golden_outcome():
    named = set(GOLDEN) | set(SLOW)
    assert {p.name for p in SUBMISSIONS.glob("*.py")} == named


def test_check_messages_show_evidence_from_the_learners_code(exercise):
    verdict = grade(exercise, "raises_in_code.py")
    assert all("KeyError" in c.message and "line 3, in add" in c.message for c in verdict.checks)
    verdict = grade(exercise, "wrong_result.py")
    assert "add(pool, 2, 3) returned -1, expected 5" in verdict.checks[0].message


def test_the_process_exits_are_explained(exercise):
    verdict = grade(exercise, "sys_exit_in_call.py")
    assert verdict.status == "error"
    assert all("sys.exit(0)" in c.message for c in verdict.checks)
    verdict = grade(exercise, "keyboard_interrupt.py")
    assert verdict.status == "error" and "KeyboardInterrupt" in verdict.checks[0].message


def test_a_patched_library_is_named_and_no_check_passes(exercise):
    verdict = grade(exercise, "patches_asyncpg.py")
    assert verdict.passed == 0
    assert "asyncpg.pool.Pool.acquire" in verdict.checks[0].message


def test_output_is_capped_at_10_kb_and_says_so(exercise):
    verdict = grade(exercise, "prints_50mb.py")
    assert len(verdict.output) < 11_000
    assert "output cut" in verdict.output


def test_printed_text_is_never_evidence_of_a_pass(exercise):
    verdict = grade(exercise, "fake_report_on_stdout.py")
    assert verdict.status == "fail" and '"status": "pass"' in verdict.output


# Submissions that run into a time limit: slower, so graded once each.
SLOW = {
    "blocks_the_loop.py": ("error", "Timed out after 6 s during the check 'adds small numbers'"),
    "lifts_statement_timeout.py": ("error", "Timed out after 6 s"),
    "swallows_cancellation_forever.py": ("error", "Timed out"),
    "awaits_forever.py": ("error", "0 of 3 checks passed"),
    "spawns_a_process.py": ("pass", "All 3 checks passed"),
}


@pytest.mark.parametrize("name", sorted(SLOW))
def test_time_limits_and_escapes_end_in_a_clear_verdict(exercise, name, tmp_path, monkeypatch):
    monkeypatch.setenv("FIXTURE_PIDFILE", str(tmp_path / "pid"))
    status, phrase = SLOW[name]
    started = time.monotonic()
    verdict = grade(exercise, name)
    assert verdict.status == status and phrase in verdict.message, (verdict.status, verdict.message)
    assert time.monotonic() - started < exercise.time_limit + 10  # the deadline holds (plus cleanup)
    assert leftovers(os.environ["DATABASE_URL"], os.getpid()) == {
        "databases": 0,
        "roles": 0,
        "connections": 0,
    }


def test_a_backend_that_lifted_its_statement_timeout_is_terminated(exercise, tmp_path, monkeypatch):
    monkeypatch.setenv("FIXTURE_PIDFILE", str(tmp_path / "pid"))
    grade(exercise, "lifts_statement_timeout.py")
    backend = int((tmp_path / "pid").read_text())
    import asyncio

    import asyncpg

    async def alive() -> bool:
        conn = await asyncpg.connect(os.environ["DATABASE_URL"])
        try:
            return bool(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", backend))
        finally:
            await conn.close()

    assert not asyncio.run(alive())


def test_processes_the_submission_started_are_killed(exercise, monkeypatch):
    tag = uuid.uuid4().hex  # another worker may be grading the same file right now
    monkeypatch.setenv("FIXTURE_TAG", tag)
    grade(exercise, "spawns_a_process.py")
    time.sleep(0.2)
    marker = f"course-fixture-orphan-{tag}"
    orphans = [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]
    assert not orphans


def test_fifty_checks_in_a_row_leave_nothing_behind(exercise):
    children_before = {p.pid for p in psutil.Process().children(recursive=True)}
    for _ in range(50):
        assert grade(exercise, "passes.py").status == "pass"
    assert leftovers(os.environ["DATABASE_URL"], os.getpid()) == {
        "databases": 0,
        "roles": 0,
        "connections": 0,
    }
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= children_before


def test_the_forked_child_of_watch_grades_the_same(exercise):
    for name in ("passes.py", "untouched_stub.py", "wrong_result.py", "os_exit_zero.py"):
        spawned, forked = grade(exercise, name), grade(exercise, name, launcher=grader.fork_child)
        assert (spawned.status, [c.status for c in spawned.checks]) == (
            forked.status,
            [c.status for c in forked.checks],
        )


def test_a_killed_grader_leaves_nothing_once_the_next_check_sweeps(exercise, tmp_path):
    pidfile = tmp_path / "pid"
    env = {**os.environ, "COURSE_ROOT": str(FIXTURE), "FIXTURE_PIDFILE": str(pidfile)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "course.cli",
            "check",
            "demo/add",
            "-s",
            str(SUBMISSIONS / "blocks_the_loop.py"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline, "the check never started"
        time.sleep(0.05)
    child = int(pidfile.read_text())
    assert leftovers(os.environ["DATABASE_URL"], proc.pid)["databases"] == 1
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the check's child outlived its grader"
        time.sleep(0.05)
    grade(exercise, "passes.py")  # its sweep finds the dead grader's database
    assert leftovers(os.environ["DATABASE_URL"], proc.pid) == {"databases": 0, "roles": 0, "connections": 0}


def test_an_unreachable_database_is_an_error_that_says_how_to_start_it(exercise, monkeypatch):
    from course.errors import DatabaseUnavailable

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:9/postgres")
    with pytest.raises(DatabaseUnavailable) as info:
        grade(exercise, "passes.py")
    assert "secret" not in str(info.value) and "DATABASE_URL" in info.value.next_step


def test_a_missing_file_is_an_error_not_a_crash(exercise, tmp_path):
    verdict = grader.grade(exercise, tmp_path / "nope.py")
    assert verdict.status == "error" and "course reset demo/add" in verdict.message
