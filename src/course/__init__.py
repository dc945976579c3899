"""Python Backend Workshop: the `course` command, the grader and the notebook extension.

Importing this package is cheap on purpose (the grader's child imports it for every check); the heavy
parts live in their own modules.
"""

from __future__ import annotations

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:  # pragma: no cover - exercised by the notebooks
    """`%load_ext course`: adds `%check` and `%%exercise`."""
    from course.magics import register

    register(ipython)
