"""`%check ID` and `%%exercise ID` for notebooks, through the same grader and isolation as `course check`.

With `COURSE_GRADE=solutions` in the environment (the test suite sets it), both grade the reference
solution instead of the learner's file, leave the learner's file alone, and raise if the verdict is not a
pass, so that nbval fails loudly.
"""

from __future__ import annotations

import os
import shutil
import time

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display

from course import grader, manifest, progress, report
from course.errors import CourseError
from course.loops import outside_running_loop


class _Shown:
    """Displays as HTML in JupyterLab and as deterministic text elsewhere (and in nbval's comparison)."""

    def __init__(self, verdict: grader.Verdict) -> None:
        self.verdict = verdict

    def _repr_html_(self) -> str:
        return report.render_html(self.verdict)

    def __repr__(self) -> str:
        return report.render_plain(self.verdict)


def _grading_solutions() -> bool:
    return os.environ.get("COURSE_GRADE") == "solutions"


def check(exercise_id: str) -> grader.Verdict:
    course = manifest.load()
    exercise = course.exercise(exercise_id.strip())
    target = exercise.solution if _grading_solutions() else exercise.stub
    verdict = outside_running_loop(grader.grade, exercise, target)
    if not _grading_solutions():
        progress.record(exercise.id, verdict.status)
    display(_Shown(verdict))
    if _grading_solutions() and verdict.status != "pass":
        raise AssertionError(
            f"The reference solution of {exercise.id} did not pass:\n{report.render_plain(verdict)}"
        )
    return verdict


@magics_class
class CourseMagics(Magics):
    @line_magic("check")
    def check_magic(self, line: str) -> None:
        """%check asyncio/bounded : grade your exercise file and show the verdict here."""
        try:
            check(line)
        except CourseError as exc:
            if _grading_solutions():
                raise  # in the test suite an unknown id or a missing checker must fail the notebook
            print(exc)

    @cell_magic("exercise")
    def exercise_magic(self, line: str, cell: str) -> None:
        """%%exercise asyncio/bounded : save this cell as your exercise file (old one backed up), then grade it."""
        try:
            exercise = manifest.load().exercise(line.strip())
            if not _grading_solutions():
                backup_dir = exercise.module.root / ".course" / "backups"
                backup_dir.mkdir(parents=True, exist_ok=True)
                if exercise.stub.exists():
                    shutil.copy2(exercise.stub, backup_dir / f"{exercise.slug}.{int(time.time())}.py")
                exercise.stub.write_text(cell)
                print(f"Saved to {exercise.relative(exercise.stub)}")
            check(exercise.id)
        except CourseError as exc:
            print(exc)


def register(ipython) -> None:
    ipython.register_magics(CourseMagics)
