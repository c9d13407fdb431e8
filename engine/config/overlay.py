"""Follow `extends` chains and merge the files into one tree that remembers each value's origin.

Rules, pinned by tests: mappings merge key by key, every other value (lists included) is
replaced whole by the overlay, and `key: null` removes the key so the model's default applies
(or, for a required key, the error points at that `null`). Chains are followed to any depth;
a cycle or a missing base is an error at the `extends` line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config.load import Document, Path_, display_name, load_document
from engine.errors import ConfigError, Location, Problem

EXTENDS = "extends"
# Editors complete `$schema` from the published schemas; it names the schema and is no setting.
SCHEMA_KEY = "$schema"
_NOT_SETTINGS = (EXTENDS, SCHEMA_KEY)
_NOT_SETTING_PATHS = {(key,) for key in _NOT_SETTINGS}


@dataclass(frozen=True)
class Merged:
    """The merged tree of an entry file and its bases, base first in `files`."""

    entry: str
    files: tuple[str, ...]
    tree: dict[str, Any]
    origins: Mapping[Path_, Location]
    derived: frozenset[Path_] = frozenset()
    # The files themselves, in `files` order: what the synthesis cache hashes.
    paths: tuple[Path, ...] = ()


def load_merged(path: Path) -> Merged:
    """Load `path` and everything it extends, and merge them (later files win)."""
    chain = _chain(path.absolute())
    tree: dict[str, Any] = {}
    origins: dict[Path_, Location] = {}
    for document in chain:
        body = {k: v for k, v in document.tree.items() if k not in _NOT_SETTINGS}
        body_origins = {p: loc for p, loc in document.origins.items() if p[:1] not in _NOT_SETTING_PATHS}
        tree = merge(tree, origins, body, body_origins, ())
    entry = chain[-1]
    derived = _default_environment(tree, origins, entry)
    return Merged(entry=entry.file, files=tuple(d.file for d in chain), tree=tree, origins=origins,
                  derived=derived, paths=tuple(d.path for d in chain))


def _chain(path: Path) -> list[Document]:
    """Documents from the root base to `path`."""
    seen: list[Path] = []
    documents: list[Document] = []
    current, via = path, None
    while True:
        resolved = current.resolve()
        if resolved in seen:
            cycle = " -> ".join([*(d.file for d in documents), display_name(current)])
            assert via is not None
            raise _at(via, "extends", f"`extends` forms a cycle: {cycle}",
                      "one file in the chain must be the base that extends nothing")
        if not current.exists() and via is not None:
            raise _at(via, "extends", f"the base file {str(via.tree[EXTENDS])!r} does not exist "
                      f"(looked for {current})", "`extends` is relative to the file that declares it")
        if current.is_dir() and via is not None:
            raise _at(via, "extends", f"the base {str(via.tree[EXTENDS])!r} is a directory ({current})",
                      "name the base YAML file, for example `extends: ../supabase.yaml`")
        seen.append(resolved)
        document = load_document(current)
        documents.append(document)
        base = document.tree.get(EXTENDS)
        if base is None:
            return list(reversed(documents))
        if not isinstance(base, str) or not base.strip():
            raise _at(document, "extends", "`extends` must be a relative path to a base YAML file",
                      "for example `extends: ../supabase.yaml`")
        current, via = current.parent / base, document


def merge(
    base: dict[str, Any],
    base_origins: dict[Path_, Location],
    overlay: Mapping[str, Any],
    overlay_origins: Mapping[Path_, Location],
    prefix: Path_,
) -> dict[str, Any]:
    """Merge `overlay` into `base` (returned as a new dict); `base_origins` is updated in place."""
    result = dict(base)
    for key, value in overlay.items():
        path = (*prefix, key)
        current = result.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            base_origins[path] = overlay_origins[path]
            result[key] = merge(current, base_origins, value, overlay_origins, path)
            continue
        _drop_below(base_origins, path)
        base_origins.update({p: loc for p, loc in overlay_origins.items() if p[: len(path)] == path})
        if value is None:
            # The origin stays behind so that "field required" can point at this null.
            result.pop(key, None)
        else:
            result[key] = value
    return result


def _drop_below(origins: dict[Path_, Location], path: Path_) -> None:
    for existing in [p for p in origins if p[: len(path)] == path]:
        del origins[existing]


ENVIRONMENT = ("project", "environment")


def _default_environment(tree: dict[str, Any], origins: dict[Path_, Location], entry: Document) -> frozenset[Path_]:
    """The environment is named after the entry file unless a file says otherwise."""
    project = tree.get("project")
    if isinstance(project, dict) and "environment" not in project:
        tree["project"] = {**project, "environment": entry.path.stem}
        origins[ENVIRONMENT] = Location(entry.file, 1, 1)
        return frozenset({ENVIRONMENT})
    return frozenset()


def _at(document: Document, key: str, message: str, hint: str) -> ConfigError:
    location = document.origins.get((key,), Location(document.file, 1, 1))
    return ConfigError([Problem(location, key, message, hint)])
