"""The course's own errors: each says what went wrong and what to do next."""

from __future__ import annotations

import re

_URL_PASSWORD = re.compile(r"(postgres(?:ql)?(?:\+\w+)?://[^:/@\s]*:)[^@\s]*@")


def redact(text: str) -> str:
    """Hide passwords in database URLs, so they never reach a log, a report or a traceback."""
    return _URL_PASSWORD.sub(r"\1***@", text)


class CourseError(Exception):
    """An error meant for a person: `message` says what happened, `next_step` what to do."""

    exit_code = 2

    def __init__(self, message: str, next_step: str = "") -> None:
        super().__init__(message)
        self.message = redact(message)
        self.next_step = redact(next_step)

    def __str__(self) -> str:
        return self.message + (f"\nNext: {self.next_step}" if self.next_step else "")


class ManifestError(CourseError):
    """course.toml is malformed or names something that does not exist."""


class UnknownExercise(CourseError):
    """An exercise id that the manifest does not list."""

    exit_code = 1


class DatabaseUnavailable(CourseError):
    """The course database cannot be reached: never the learner's mistake."""


class DockerUnavailable(CourseError):
    """The docker backend was asked for but no Docker engine answers."""
