"""Reads `course.toml`, the one list of the course, and finds each exercise's files by convention."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from course.errors import ManifestError, UnknownExercise

FORMAT_VERSION = 1
DEFAULT_TIME_LIMIT = 30.0


def course_root() -> Path:
    """The checkout that holds course.toml: `COURSE_ROOT`, else the nearest parent of the cwd, else ours."""
    if env := os.environ.get("COURSE_ROOT"):
        return Path(env).resolve()
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "course.toml").is_file():
            return folder
    here = Path(__file__).resolve().parents[2]
    if (here / "course.toml").is_file():
        return here
    raise ManifestError(
        "No course.toml here or in any parent folder.",
        "cd into the course checkout (the folder with course.toml), or set COURSE_ROOT.",
    )


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    module: Module
    slug: str
    notebook_name: str
    hints: tuple[str, ...]
    points: int
    time_limit: float

    @property
    def stub(self) -> Path:
        return self.module.root / "exercises" / self.module.folder / f"{self.slug}.py"

    @property
    def solution(self) -> Path:
        return self.module.root / "solutions" / self.module.folder / f"{self.slug}.py"

    @property
    def checker_dir(self) -> Path:
        return self.module.root / "checkers" / self.module.folder / self.slug

    @property
    def checker(self) -> Path:
        return self.checker_dir / "check.py"

    @property
    def notebook(self) -> Path:
        return self.module.root / "notebooks" / self.module.folder / f"{self.notebook_name}.ipynb"

    def relative(self, path: Path) -> str:
        """A path as a learner types it: relative to the course root when inside it."""
        try:
            return str(path.resolve().relative_to(self.module.root))
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class Module:
    name: str
    number: int
    title: str
    root: Path
    exercises: tuple[Exercise, ...] = ()

    @property
    def folder(self) -> str:
        return f"{self.number:02d}_{self.name}"


@dataclass(frozen=True)
class Course:
    title: str
    root: Path
    welcome: Path
    modules: tuple[Module, ...]

    @property
    def exercises(self) -> list[Exercise]:
        return [ex for module in self.modules for ex in module.exercises]

    def exercise(self, exercise_id: str) -> Exercise:
        """Find an exercise by id (`asyncio/bounded`), also accepting the bare slug when it is unique."""
        matches = [ex for ex in self.exercises if exercise_id in (ex.id, ex.slug)]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(ex.id for ex in self.exercises)
        raise UnknownExercise(f"No exercise called {exercise_id!r}. Known: {known}.", "course list")


def _require(table: dict, key: str, where: str) -> object:
    if key not in table:
        raise ManifestError(
            f"course.toml: {where} has no `{key}`.", "Add it; see the comment at the top of course.toml."
        )
    return table[key]


@cache
def load(root: Path | None = None) -> Course:
    """Parse course.toml under `root` (default: `course_root()`)."""
    root = (root or course_root()).resolve()
    path = root / "course.toml"
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(
            f"Cannot read {path}: {exc}", "Fix course.toml (it must be valid TOML)."
        ) from None
    if data.get("format_version") != FORMAT_VERSION:
        raise ManifestError(
            f"course.toml has format_version {data.get('format_version')!r}; this course tool reads {FORMAT_VERSION}.",
            "Update the course tool: make start",
        )
    modules = []
    for mod in data.get("modules", []):
        name = str(_require(mod, "name", "a module"))
        module = Module(
            name=name, number=int(_require(mod, "number", name)), title=str(mod.get("title", name)), root=root
        )
        exercises = []
        for ex in mod.get("exercises", []):
            ex_id = str(_require(ex, "id", f"an exercise of {name}"))
            prefix, _, slug = ex_id.partition("/")
            if prefix != name or not slug.isidentifier():
                raise ManifestError(
                    f"course.toml: exercise id {ex_id!r} must be `{name}/<slug>` with a Python-name slug."
                )
            exercises.append(
                Exercise(
                    id=ex_id,
                    title=str(_require(ex, "title", ex_id)),
                    module=module,
                    slug=slug,
                    notebook_name=str(_require(ex, "notebook", ex_id)),
                    hints=tuple(ex.get("hints", ())),
                    points=int(ex.get("points", 10)),
                    time_limit=float(ex.get("time_limit", DEFAULT_TIME_LIMIT)),
                )
            )
        object.__setattr__(module, "exercises", tuple(exercises))
        modules.append(module)
    ids = [ex.id for m in modules for ex in m.exercises]
    if len(ids) != len(set(ids)):
        raise ManifestError("course.toml lists an exercise id twice.")
    return Course(
        title=str(data.get("title", "Course")),
        root=root,
        welcome=root / str(data.get("welcome", "notebooks/00_welcome.ipynb")),
        modules=tuple(modules),
    )
