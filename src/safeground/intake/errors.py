"""The intake's one exception: a coded problem with a whole file, table or row."""

from __future__ import annotations

from typing import Any

import safeground.intake.catalogue  # noqa: F401 - registers the intake codes
from safeground.errors import SafegroundError
from safeground.record.problems import Problem


class FileProblem(SafegroundError, ValueError):
    """A file, table or row the intake cannot read, as a catalogue ``Problem``.

    Parsers raise it for a whole file and yield it for a single row, so the good rows of the
    same file are still taken in.
    """

    http_status = 422

    def __init__(self, code: str, where: str, field: str | None = None, **params: Any) -> None:
        self.problem = Problem(code, where, field, params)
        super().__init__(self.problem.message, code=code)
