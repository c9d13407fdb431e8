"""The one error hierarchy of the engine.

Everything a user can cause derives from :class:`EngineError`; the CLI maps it to exit code 1.
Any other exception reaching the CLI is a bug in the engine and exits with code 3.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class EngineError(Exception):
    """A problem the user can fix: bad input, missing tool, refused operation."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  Hint: {self.hint}"

    def details(self) -> dict[str, object]:
        """More for a JSON error report (what became of each stack of a stopped run), beside the message."""
        return {}


@dataclass(frozen=True)
class Location:
    """Where a value came from: a file and a 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config, pinned to the file, line and key that caused it."""

    location: Location
    path: str
    message: str
    hint: str | None = None

    def render(self) -> str:
        prefix = f"{self.location}: {self.path}: " if self.path else f"{self.location}: "
        text = prefix + self.message
        return text if self.hint is None else f"{text}\n  Hint: {self.hint}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }


class ConfigError(EngineError):
    """One or more problems in a config; each names file, line, column, key and fix."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = tuple(
            sorted(problems, key=lambda p: (p.location.file, p.location.line, p.location.column, p.path))
        )
        if not self.problems:
            raise ValueError("ConfigError needs at least one problem")
        super().__init__("\n".join(p.render() for p in self.problems))

    def render(self) -> str:
        return self.message
