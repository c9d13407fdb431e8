"""The versioned SQL files of the database bootstrap: reading, ordering, splitting, checksumming.

Split here so a failure names the file, line and statement; checksummed so an edit is noticed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from itertools import pairwise
from pathlib import Path

from engine.errors import EngineError

_EXCERPT = 100  # characters of a failed statement quoted in errors

_FILENAME = re.compile(r"^(?P<version>\d{4})_(?P<slug>[a-z0-9_]+)\.sql$")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")
_STRING = re.compile(r"'(?:[^']|'')*'")
_ESCAPE_STRING = re.compile(r"'(?:[^'\\]|''|\\.)*'", re.DOTALL)


class MigrationError(EngineError):
    """A migration file is malformed, was edited after being applied, or failed to run."""


@dataclass(frozen=True)
class SqlStatement:
    """One SQL statement of a migration file and the line it starts on."""

    text: str
    line: int

    @property
    def excerpt(self) -> str:
        first = next((ln.strip() for ln in self.text.splitlines() if ln.strip()), "")
        return first if len(first) <= _EXCERPT else first[: _EXCERPT - 3] + "..."


@dataclass(frozen=True)
class Migration:
    """One versioned SQL file (``NNNN_name.sql``)."""

    version: int
    name: str
    sql: str
    checksum: str

    @classmethod
    def from_text(cls, name: str, text: str) -> Migration:
        match = _FILENAME.match(name)
        if match is None:
            raise MigrationError(
                f"migration file name {name!r} is not of the form NNNN_name.sql",
                hint="Use four digits, an underscore and lowercase letters, digits or underscores.",
            )
        checksum = hashlib.sha256(text.encode()).hexdigest()
        migration = cls(int(match["version"]), name, text, checksum)
        migration.statements()  # refuse unterminated quotes/comments now, not mid-run
        return migration

    def statements(self) -> tuple[SqlStatement, ...]:
        return split_statements(self.sql, self.name)


def load_migrations(directory: Traversable | Path | None = None) -> tuple[Migration, ...]:
    """Read the ``NNNN_name.sql`` files of ``directory`` (default: the packaged ones), in order."""
    root: Traversable = directory if directory is not None else resources.files(__package__) / "sql"
    if not root.is_dir():
        raise MigrationError(f"migrations directory {root} does not exist")
    migrations = []
    for entry in root.iterdir():
        if not entry.is_file() or not entry.name.endswith(".sql"):
            continue
        try:
            text = entry.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MigrationError(f"migration {entry.name} is not valid UTF-8: {exc}") from None
        migrations.append(Migration.from_text(entry.name, text))
    return check_sequence(migrations)


def split_statements(text: str, name: str = "<sql>") -> tuple[SqlStatement, ...]:
    """Split SQL on top-level semicolons, respecting quotes, dollar quotes and comments."""
    statements: list[SqlStatement] = []
    first_code: int | None = None  # where the current statement's first real token starts
    i = 0
    while i < len(text):
        token_end = _skip_token(text, i, name)
        if token_end is not None and text.startswith(("--", "/*"), i):
            i = token_end  # comments are not code
            continue
        if first_code is None and not text[i].isspace() and text[i] != ";":
            first_code = i
        if token_end is not None:
            i = token_end
            continue
        if text[i] == ";":
            if first_code is not None:
                statements.append(_statement(text, first_code, i))
            first_code = None
        i += 1
    if first_code is not None:
        statements.append(_statement(text, first_code, len(text)))
    return tuple(statements)


def _skip_token(text: str, i: int, name: str) -> int | None:
    """If a comment, string, quoted identifier or dollar quote starts at ``i``, its end."""
    end: int | None = None
    what = ""
    if text.startswith("--", i):
        newline = text.find("\n", i)
        return len(text) if newline < 0 else newline + 1
    if text.startswith("/*", i):  # block comments nest in PostgreSQL
        depth, j, what = 1, i + 2, "comment"
        while depth and j < len(text):
            step = text[j : j + 2]
            depth += 1 if step == "/*" else -1 if step == "*/" else 0
            j += 2 if step in ("/*", "*/") else 1
        end = None if depth else j
    elif text[i] == "'":
        escapes = text[i - 1 : i] in ("e", "E") and not _is_ident(text[i - 2 : i - 1])
        pattern = _ESCAPE_STRING if escapes else _STRING
        match, what = pattern.match(text, i), "string"
        end = match.end() if match else None
    elif text[i] == '"':
        close, what = text.find('"', i + 1), "quoted identifier"
        end = None if close < 0 else close + 1
    elif text[i] == "$" and not _is_ident(text[i - 1 : i]):
        tag = _DOLLAR_TAG.match(text, i)
        if tag is None:
            return None
        close, what = text.find(tag.group(), tag.end()), f"dollar-quoted string {tag.group()}"
        end = None if close < 0 else close + len(tag.group())
    else:
        return None
    if end is None:
        line = text.count("\n", 0, i) + 1
        raise MigrationError(f"migration {name}: unterminated {what} starting at line {line}")
    return end


def _is_ident(c: str) -> bool:
    return c != "" and (c.isalnum() or c in "_$")


def _statement(text: str, begin: int, end: int) -> SqlStatement:
    return SqlStatement(text[begin:end].strip(), text.count("\n", 0, begin) + 1)


def check_sequence(migrations: list[Migration]) -> tuple[Migration, ...]:
    migrations.sort(key=lambda m: m.version)
    for before, after in pairwise(migrations):
        if before.version == after.version:
            raise MigrationError(
                f"migrations {before.name} and {after.name} share version {before.version:04d}",
                hint="Give every migration file its own number.",
            )
    return tuple(migrations)
