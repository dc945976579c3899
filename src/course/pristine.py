"""The untouched stubs, so `course reset` can restore one after the learner has edited it.

A copy of each stub is kept in `.course/pristine/` the first time the course tool sees it untouched (still
marked TODO). Failing that, git's committed version is used when it is still a stub.
"""

from __future__ import annotations

import subprocess

from course.db import state_dir
from course.errors import CourseError
from course.manifest import Course, Exercise

TODO = "# TODO"


def _is_stub(text: str) -> bool:
    return TODO in text and "raise NotImplementedError" in text


def _copy_path(ex: Exercise):
    return state_dir() / "pristine" / ex.module.folder / f"{ex.slug}.py"


def snapshot_all(course: Course) -> None:
    """Keep a copy of every stub still untouched that has none yet."""
    for ex in course.exercises:
        copy = _copy_path(ex)
        if copy.exists() or not ex.stub.exists():
            continue
        text = ex.stub.read_text()
        if _is_stub(text):
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(text)


def stub_text(ex: Exercise) -> str:
    copy = _copy_path(ex)
    if copy.exists():
        return copy.read_text()
    rel = ex.relative(ex.stub)
    try:
        committed = subprocess.run(
            ["git", "show", f"HEAD:{rel}"], cwd=ex.module.root, capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        committed = ""
    if _is_stub(committed):
        return committed
    if ex.stub.exists() and _is_stub(ex.stub.read_text()):
        return ex.stub.read_text()
    raise CourseError(
        f"No untouched copy of {rel} is left to restore.",
        "Fetch it from the course repository, e.g. `git checkout <first-commit> -- " + rel + "`.",
    )
