"""The learner's progress in `.course/progress.json`: what passed, how many hints were shown."""

from __future__ import annotations

import json
import time
from pathlib import Path

from course.db import state_dir
from course.manifest import Course, Exercise


def _path() -> Path:
    return state_dir() / "progress.json"


def load() -> dict[str, dict]:
    try:
        data = json.loads(_path().read_text())
    except (OSError, ValueError):
        return {}
    return data.get("exercises", {}) if isinstance(data, dict) else {}


def _save(exercises: dict[str, dict]) -> None:
    tmp = _path().with_suffix(".tmp")
    tmp.write_text(json.dumps({"format_version": 1, "exercises": exercises}, indent=2))
    tmp.replace(_path())


def record(exercise_id: str, status: str) -> None:
    """Remember a verdict; a pass stays a pass (a later failing edit does not erase it)."""
    data = load()
    entry = data.setdefault(exercise_id, {})
    entry["attempts"] = entry.get("attempts", 0) + 1
    entry["last_status"] = status
    if status == "pass" and not entry.get("passed_at"):
        entry["passed_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    _save(data)


def next_hint(exercise: Exercise) -> tuple[int, str]:
    """The next rung of the hint ladder (1-based), staying on the last one once reached."""
    data = load()
    entry = data.setdefault(exercise.id, {})
    shown = min(entry.get("hints", 0) + 1, len(exercise.hints))
    entry["hints"] = shown
    _save(data)
    return shown, exercise.hints[shown - 1]


def passed(exercise_id: str) -> bool:
    return bool(load().get(exercise_id, {}).get("passed_at"))


def first_unpassed(course: Course) -> Exercise | None:
    done = load()
    return next((ex for ex in course.exercises if not done.get(ex.id, {}).get("passed_at")), None)


def reset(exercise_id: str | None = None) -> None:
    """Forget one exercise's progress, or everything."""
    data = {} if exercise_id is None else {k: v for k, v in load().items() if k != exercise_id}
    _save(data)
