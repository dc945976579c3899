"""The `course` command as a learner, an instructor and a grading teacher use it, on a scratch copy of the
fixture course: real processes, real database, real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "course"
SUBMISSIONS = FIXTURE / "submissions"


@pytest.fixture
def course_dir(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "course", ignore=shutil.ignore_patterns(".course"))
    return tmp_path / "course"


def run(
    course_dir: Path, *args: str, env: dict | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COURSE_ROOT": str(course_dir), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "course.cli", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_list_next_and_progress_read_the_manifest(course_dir):
    assert "demo/add" in run(course_dir, "list").stdout
    result = run(course_dir, "next")
    assert "demo/add" in result.stdout and "exercises/01_demo/add.py" in result.stdout
    assert "0/5 points" in run(course_dir, "progress").stdout


def test_the_untouched_stub_is_not_attempted_with_exit_1(course_dir):
    result = run(course_dir, "check", "demo/add")
    assert result.returncode == 1
    assert "not attempted" in result.stdout and "Next:" in result.stdout


def test_a_pass_is_recorded_and_unlocks_the_solution(course_dir):
    assert run(course_dir, "solution", "demo/add").returncode == 2
    shutil.copy(SUBMISSIONS / "passes.py", course_dir / "exercises" / "01_demo" / "add.py")
    result = run(course_dir, "check", "demo/add")
    assert result.returncode == 0 and "pass" in result.stdout
    assert "5/5 points" in run(course_dir, "progress").stdout
    assert "Every exercise passes" in run(course_dir, "next").stdout
    assert "fetchval" in run(course_dir, "solution", "demo/add").stdout


def test_hints_climb_the_ladder_one_rung_per_call(course_dir):
    assert "Hint 1/2" in run(course_dir, "hint", "demo/add").stdout
    second = run(course_dir, "hint", "demo/add").stdout
    assert "Hint 2/2" in second and "last hint" in second
    assert "Hint 2/2" in run(course_dir, "hint", "demo/add").stdout


def test_reset_restores_the_stub_and_keeps_a_backup(course_dir):
    run(course_dir, "list")  # any command keeps a pristine copy of untouched stubs
    stub = course_dir / "exercises" / "01_demo" / "add.py"
    original = stub.read_text()
    stub.write_text("# my work in progress\n")
    result = run(course_dir, "reset", "demo/add")
    assert result.returncode == 0 and stub.read_text() == original
    backups = list((course_dir / ".course" / "backups").glob("*.py"))
    assert [b.read_text() for b in backups] == ["# my work in progress\n"]


def test_a_syntax_error_shows_line_and_caret_without_a_traceback(course_dir):
    result = run(course_dir, "check", "demo/add", "-s", str(SUBMISSIONS / "syntax_error.py"))
    assert result.returncode == 2
    assert "line 1: expected ':'" in result.stdout and "^" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_json_output_is_exercism_v3_and_nothing_else_on_stdout(course_dir):
    result = run(
        course_dir,
        "check",
        "demo/add",
        "-s",
        str(SUBMISSIONS / "fake_report_on_stdout.py"),
        "--format",
        "json",
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)  # the submission's own prints stay inside the report
    assert report["version"] == 3 and report["status"] == "fail"
    assert [t["status"] for t in report["tests"]] == ["fail", "fail", "pass"]
    assert {"name", "status", "message", "output"} <= set(report["tests"][0])
    assert report["course"]["score"] == 0
    stub = json.loads(run(course_dir, "check", "demo/add", "--format", "json").stdout)
    assert stub["status"] == "fail" and stub["course"]["status"] == "not attempted"


def test_junit_output_has_a_testcase_per_check(course_dir):
    result = run(
        course_dir, "check", "--all", "-s", str(SUBMISSIONS / "wrong_result.py"), "--format", "junit"
    )
    suite = ET.fromstring(result.stdout).find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "2"
    error = run(
        course_dir, "check", "demo/add", "-s", str(SUBMISSIONS / "import_error.py"), "--format", "junit"
    )
    assert error.returncode == 2 and ET.fromstring(error.stdout).find("testsuite/testcase/error") is not None


def test_grading_a_folder_of_submissions_with_all(course_dir, tmp_path):
    folder = tmp_path / "student"
    (folder / "01_demo").mkdir(parents=True)
    shutil.copy(SUBMISSIONS / "passes.py", folder / "01_demo" / "add.py")
    result = run(course_dir, "check", "--all", "-s", str(folder), "--format", "json")
    assert result.returncode == 0 and json.loads(result.stdout)["status"] == "pass"


def test_an_unreachable_database_exits_2_and_says_how_to_start_it(course_dir):
    result = run(
        course_dir, "check", "demo/add", env={"DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:9/x"}
    )
    assert result.returncode == 2
    assert "Cannot reach the course database" in result.stderr and "Next:" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr and "Traceback" not in result.stderr
    as_json = run(
        course_dir,
        "check",
        "demo/add",
        "--format",
        "json",
        env={"DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:9/x"},
    )
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["status"] == "error"
    assert "hunter2" not in as_json.stdout


def test_an_unknown_exercise_lists_the_known_ones(course_dir):
    result = run(course_dir, "check", "demo/nope")
    assert result.returncode == 1 and "demo/add" in result.stderr


def test_doctor_reports_a_healthy_setup(course_dir):
    result = run(course_dir, "doctor")
    assert result.returncode == 0, result.stdout
    assert "database reachable" in result.stdout and "✗" not in result.stdout


def test_the_docker_backend_fails_fast_without_a_docker_engine(course_dir):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(COURSE_ROOT=str(course_dir), DOCKER_HOST="unix:///nonexistent/docker.sock")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "course.cli", "db", "start", "--docker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "No Docker engine answers" in result.stderr
    assert time.monotonic() - started < 15


def test_watch_gives_a_verdict_after_each_save(course_dir):
    env = {**os.environ, "COURSE_ROOT": str(course_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "course.cli", "watch", "demo/add"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Next:" in line:
                break
        assert any("not attempted" in line for line in lines)
        time.sleep(0.1)
        shutil.copy(SUBMISSIONS / "passes.py", course_dir / "exercises" / "01_demo" / "add.py")
        for line in proc.stdout:
            if "pass" in line and "demo/add" in line:
                break
        else:
            pytest.fail("no verdict after the save")
    finally:
        proc.terminate()
        proc.wait(10)


def test_lab_serves_jupyterlab_on_loopback_with_a_token(course_dir):
    import re
    import socket
    import urllib.error
    import urllib.request

    (course_dir / "notebooks").mkdir(exist_ok=True)
    (course_dir / "notebooks" / "00_welcome.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "COURSE_ROOT": str(course_dir), "JUPYTER_RUNTIME_DIR": str(course_dir / ".jupyter")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "course.cli", "lab", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        for line in proc.stdout:
            match = re.search(rf"http://127\.0\.0\.1:{port}/lab\S*\?token=(\w+)", line)
            if match:
                break
            assert time.monotonic() < deadline, "JupyterLab printed no URL with a token"
        else:
            pytest.fail("course lab ended without printing its URL")
        url = f"http://127.0.0.1:{port}/lab?token={match.group(1)}"
        for _ in range(100):  # the URL is logged a moment before the socket accepts connections
            try:
                page = urllib.request.urlopen(url, timeout=10)
                break
            except ConnectionRefusedError:
                time.sleep(0.1)
            except urllib.error.URLError as exc:
                if not isinstance(exc.reason, ConnectionRefusedError):
                    raise
                time.sleep(0.1)
        assert page.status == 200
        with pytest.raises(urllib.error.HTTPError) as denied:  # the token is required
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token=wrong", timeout=10)
        assert denied.value.code == 403
    finally:
        os.killpg(proc.pid, 2)
        proc.wait(30)
