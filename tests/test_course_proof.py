"""The course proves itself, as `rustlings dev check` does: for every exercise in the manifest, the
reference solution passes, the untouched stub is `not attempted`, every anti-solution fails on the check
named in its first line, and every correct variant in another style passes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from course import grader, manifest

COURSE = manifest.load()
EXERCISES = {ex.id: ex for ex in COURSE.exercises}
MUST_FAIL = re.compile(r"^# must fail: (test_\w+)\s*$")
PASSES = re.compile(r"^# passes: \S")


def _files(prefix: str) -> list[tuple[str, Path]]:
    return [
        (ex.id, path) for ex in COURSE.exercises for path in sorted(ex.checker_dir.glob(f"{prefix}_*.py"))
    ]


def _id(value) -> str:
    return value.name if isinstance(value, Path) else str(value)


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_the_reference_solution_passes(exercise_id):
    ex = EXERCISES[exercise_id]
    verdict = grader.grade(ex, ex.solution)
    assert verdict.status == "pass", [
        (c.name, c.status, c.message) for c in verdict.checks
    ] or verdict.message


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_the_untouched_stub_is_not_attempted(exercise_id):
    ex = EXERCISES[exercise_id]
    verdict = grader.grade(ex, ex.stub)
    assert verdict.status == "not attempted", [
        (c.name, c.status, c.message) for c in verdict.checks
    ] or verdict.message


@pytest.mark.parametrize(("exercise_id", "path"), _files("wrong"), ids=_id)
def test_each_anti_solution_fails_on_the_check_meant_to_catch_it(exercise_id, path):
    first = path.read_text().splitlines()[0]
    match = MUST_FAIL.match(first)
    assert match, f"{path.name} must start with `# must fail: test_<check>`"
    ex = EXERCISES[exercise_id]
    assert match.group(1) in grader.expected_checks(ex.checker), (
        f"{path.name} names a check that does not exist"
    )
    verdict = grader.grade(ex, path)
    assert verdict.status in ("fail", "error"), f"{path.name} passed"
    check = next(c for c in verdict.checks if c.name == match.group(1))
    assert check.status != "pass", (
        f"{path.name} failed, but not on {check.name}: {[(c.name, c.status) for c in verdict.checks]}"
    )
    assert not check.not_implemented and check.message


@pytest.mark.parametrize(("exercise_id", "path"), _files("variant"), ids=_id)
def test_each_correct_variant_in_another_style_passes(exercise_id, path):
    assert PASSES.match(path.read_text().splitlines()[0]), (
        f"{path.name} must start with `# passes: <what differs>`"
    )
    verdict = grader.grade(EXERCISES[exercise_id], path)
    assert verdict.status == "pass", [
        (c.name, c.status, c.message) for c in verdict.checks
    ] or verdict.message


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_every_exercise_ships_anti_solutions_and_a_variant(exercise_id):
    ex = EXERCISES[exercise_id]
    assert list(ex.checker_dir.glob("wrong_*.py")), f"{exercise_id} has no anti-solution"
    assert list(ex.checker_dir.glob("variant_*.py")), f"{exercise_id} has no correct variant"


def _interface(path: Path) -> dict[str, str]:
    """What stub and solution must share: the module docstring, the imports, and every signature."""
    tree = ast.parse(path.read_text())
    shape = {
        "docstring": ast.get_docstring(tree) or "",
        "imports": "\n".join(
            sorted(ast.dump(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
        ),
    }

    def signatures(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                # Decorators are the learner's to add (an lru_cache can be the lesson): compare the call shape.
                shape[prefix + node.name] = ast.dump(node.args) + ast.dump(node.returns or ast.Constant(None))
                shape[prefix + node.name] += type(node).__name__ + (ast.get_docstring(node) or "")
            elif isinstance(node, ast.ClassDef):
                shape[prefix + node.name] = "class"
                signatures(node.body, f"{prefix}{node.name}.")

    signatures(tree.body, "")
    return shape


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_stub_and_solution_differ_only_in_the_learners_work(exercise_id):
    ex = EXERCISES[exercise_id]
    stub_text = ex.stub.read_text()
    assert "# TODO" in stub_text and "raise NotImplementedError" in stub_text
    stub, solution = _interface(ex.stub), _interface(ex.solution)
    assert stub["docstring"], "a stub opens with a docstring that states the task"
    assert stub["docstring"] == solution["docstring"] and stub["imports"] == solution["imports"]
    # Every function the stub asks for has the same signature (and docstring) in the solution.
    shared = {
        name: shape
        for name, shape in stub.items()
        if name not in ("docstring", "imports") and name in solution
    }
    assert shared == {name: solution[name] for name in shared}
    missing = [name for name in _required(ex.checker) if name not in solution]
    assert not missing, f"the solution lacks {missing}"


def _required(checker: Path) -> list[str]:
    """The names a checker's REQUIRES asks for (read from its source, as the grader does)."""
    for node in ast.parse(checker.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "REQUIRES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []
