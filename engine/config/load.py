"""Read one YAML file safely into plain data plus the source position of every value.

Only YAML 1.2 core scalars are recognised (so `no` stays a string and `03:00` is not 180),
keys must be unique strings, and the size of the file and of its alias expansion is bounded,
so a hostile or mistyped file yields a clear error instead of a hang or a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.errors import ConfigError, Location, Problem

MAX_FILE_BYTES = 1024 * 1024
MAX_VALUES = 20_000
MAX_DEPTH = 32

# A path into the tree: mapping keys and sequence indices from the root.
Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """One parsed file: its data and where each value (by path) was written."""

    file: str
    path: Path
    tree: dict[str, Any]
    origins: Mapping[Path_, Location]


class _TooDeep(yaml.MarkedYAMLError):
    """Nesting past the limit, raised while composing: PyYAML's composer recurses per level."""


class _Loader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema instead of YAML 1.1's surprises.

    It also stops composing at twice the depth limit: PyYAML composes nested collections by
    recursion, so thousands of `[` would otherwise overflow Python's stack before the builder
    could check the depth (the builder reports the first level past the limit with its key).
    """

    yaml_implicit_resolvers = {}  # noqa: RUF012 - PyYAML's own registry, replaced per subclass
    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > 2 * MAX_DEPTH:
                raise _TooDeep(problem=f"nesting deeper than {MAX_DEPTH} levels",
                               problem_mark=self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_RESOLVERS = (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    # Infinities and NaN stay strings: no setting takes them, and JSON cannot carry them.
    ("tag:yaml.org,2002:float", r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", "-+0123456789."),
)
for _tag, _pattern, _first in _RESOLVERS:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
_Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])
# Recognised only to refuse it with a clear message.
_Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])


def display_name(path: Path) -> str:
    """The name users see in messages: relative to the working directory when that is shorter."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return rel if len(rel) < len(str(path)) else str(path)


def load_document(path: Path) -> Document:
    """Parse one YAML file whose root must be a mapping."""
    name = display_name(path)
    text = _read_text(path, name)
    root = _compose(text, name)
    if root is None:
        raise _error(name, 1, 1, "", "the file is empty", "write a mapping such as `project: {...}`")
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        raise _error(name, *_mark(root), "", f"the top level is {kind}, expected a mapping of sections",
                     "start the file with keys like `project:` and `network:`")
    builder = _Builder(name)
    tree = builder.build(root, (), 0)
    assert isinstance(tree, dict)
    return Document(file=name, path=path, tree=tree, origins=builder.origins)


def _read_text(path: Path, name: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _error(name, 1, 1, "", f"the file is {size} bytes, over the {MAX_FILE_BYTES} byte limit",
                         "a config is a few kilobytes; check that this is the right file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise _error(name, 1, 1, "", "no such file", "check the path") from None
    except IsADirectoryError:
        raise _error(name, 1, 1, "", "this is a directory, not a YAML file", None) from None
    except PermissionError:
        raise _error(name, 1, 1, "", "permission denied reading the file", None) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _error(name, line, column, "", f"byte 0x{data[exc.start]:02x} is not valid UTF-8",
                     "save the file as UTF-8") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise _error(name, line, 1, "", "the file contains a NUL character", "save the file as UTF-8 text")
    return text


def _compose(text: str, name: str) -> yaml.Node | None:
    try:
        loader = _Loader(text)  # the reader refuses control characters here, before parsing
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise _error(name, line, column, "", f"character U+{ord(text[exc.position]):04X} is not allowed in YAML",
                     "remove the control character (only tab, newline and printable text are allowed)") from None
    try:
        return loader.get_single_node()
    except _TooDeep as exc:
        mark = exc.problem_mark
        assert mark is not None
        raise _error(name, mark.line + 1, mark.column + 1, "", str(exc.problem),
                     "a config is only a few levels deep; check for unclosed brackets") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        hint = None
        lines = text.splitlines()
        current = lines[line - 1] if 0 < line <= len(lines) else ""
        if "\t" in current[: len(current) - len(current.lstrip())] or "'\\t'" in problem:
            problem, hint = "a tab character is used for indentation", "indent with spaces only"
        elif "but found another document" in str(exc):
            problem, hint = "the file holds more than one YAML document", "remove the `---` separator"
        raise _error(name, line, column, "", f"YAML syntax: {problem}", hint) from None
    except yaml.YAMLError as exc:  # pragma: no cover - reader errors without a mark
        raise _error(name, 1, 1, "", f"YAML syntax: {exc}", None) from None
    finally:
        loader.dispose()


class _Builder:
    """Turns composed YAML nodes into plain data, recording each value's position."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.origins: dict[Path_, Location] = {}
        self.count = 0
        self._constructor = _Loader("")

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise self._fail(node, path, f"the document expands to more than {MAX_VALUES} values",
                             "anchors and aliases must not multiply the document; write values out")
        if depth > MAX_DEPTH:
            raise self._fail(node, path, f"nesting deeper than {MAX_DEPTH} levels",
                             "a config is only a few levels deep; check for a recursive alias")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self._item(item, (*path, i), depth) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _item(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.origins[path] = Location(self.file, *_mark(node))
        return self.build(node, path, depth + 1)

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self._fail(key_node, path, "YAML merge keys (<<) are not supported",
                                 "write the keys out, or share settings through an `extends` overlay")
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a collection"
                raise self._fail(key_node, path, f"key {shown!r} is not a string",
                                 "quote the key if it is meant as text")
            key = str(key_node.value)
            child = (*path, key)
            if key in result:
                first = self.origins[child]
                raise self._fail(key_node, child, f"duplicate key (first set at line {first.line})",
                                 "remove one of the two entries")
            self.origins[child] = Location(self.file, *_mark(key_node))
            result[key] = self.build(value_node, child, depth + 1)
        return result

    def _scalar(self, node: yaml.Node, path: Path_) -> Any:
        if node.tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"):
            return str(node.value)
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise self._fail(node, path, f"cannot read value: {exc}", None) from None

    def _fail(self, node: yaml.Node, path: Path_, message: str, hint: str | None) -> ConfigError:
        return _error(self.file, *_mark(node), dotted(path), message, hint)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _error(file: str, line: int, column: int, path: str, message: str, hint: str | None) -> ConfigError:  # noqa: PLR0917
    return ConfigError([Problem(Location(file, line, column), path, message, hint)])


def dotted(path: Path_) -> str:
    """`("network", "endpoints", 2)` -> `network.endpoints[2]`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


_RESOLVER = _Loader("")


def reads_back_as_string(text: str) -> bool:
    """Whether `text`, written as a plain YAML scalar, loads back as the same string."""
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag == "tag:yaml.org,2002:str"
