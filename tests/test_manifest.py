"""course.toml is the one list: every exercise it names has its files, notebook and hint ladder."""

from __future__ import annotations

import pytest

from course import manifest
from course.errors import ManifestError, UnknownExercise

COURSE = manifest.load()


@pytest.mark.parametrize("ex", COURSE.exercises, ids=lambda ex: ex.id)
def test_every_exercise_has_its_four_files_and_hints(ex):
    for path in (ex.stub, ex.solution, ex.checker, ex.notebook):
        assert path.is_file(), f"{ex.id}: missing {path}"
    assert 2 <= len(ex.hints) <= 3
    assert ex.points > 0 and ex.time_limit > 0


def test_folders_never_shadow_a_library():
    for module in COURSE.modules:
        assert not module.folder.isidentifier(), "a folder named like a package could shadow a library"


def test_the_welcome_notebook_exists():
    assert COURSE.welcome.is_file()


def test_an_exercise_is_found_by_id_or_unique_slug():
    assert COURSE.exercise("asyncio/bounded") is COURSE.exercise("bounded")
    with pytest.raises(UnknownExercise) as info:
        COURSE.exercise("asyncio/nope")
    assert "course list" in info.value.next_step


def test_a_manifest_of_another_format_version_is_refused(tmp_path):
    (tmp_path / "course.toml").write_text("format_version = 99\n")
    with pytest.raises(ManifestError, match="format_version"):
        manifest.load(tmp_path)


def test_ids_must_match_their_module(tmp_path):
    (tmp_path / "course.toml").write_text(
        'format_version = 1\n[[modules]]\nname = "a"\nnumber = 1\n[[modules.exercises]]\nid = "b/x"\ntitle = "t"\nnotebook = "n"\n'
    )
    with pytest.raises(ManifestError, match="must be `a/<slug>`"):
        manifest.load(tmp_path)
