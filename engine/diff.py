"""What differs between two environments: the merged config, the AWS resources, the Kubernetes objects.

Both sides are compiled the way `check` does it, in scratch directories, so the comparison is of
exactly what `synth` would write. Names derived from the environment (`acme-dev-...`) are compared
with the prefix and environment name replaced by placeholders; otherwise every resource would differ.
The three levels share one walker and one placeholder rule, hence one module.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from engine.build import compile_all
from engine.config import Loaded, load_config
from engine.errors import EngineError
from engine.resolve import resolve
from engine.synth import Progress

Kind = Literal["changed", "only_a", "only_b"]
PREFIX, ENVIRONMENT = "<prefix>", "<environment>"


@dataclass(frozen=True)
class Change:
    """One difference: `subject` (config key, resource address or object) and `field` inside it."""

    kind: Kind
    subject: str
    field: str = ""
    a: Any = None
    b: Any = None
    a_origin: str = ""
    b_origin: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "subject": self.subject, "field": self.field}
        if self.kind != "only_b":
            data["a"] = self.a
        if self.kind != "only_a":
            data["b"] = self.b
        if self.a_origin or self.b_origin:
            data.update(a_origin=self.a_origin, b_origin=self.b_origin)
        return data


@dataclass(frozen=True)
class Difference:
    """The three levels of difference between side `a` and side `b` (labels name the sides)."""

    a: str
    b: str
    config: tuple[Change, ...]
    aws: tuple[Change, ...]
    kubernetes: tuple[Change, ...]

    @property
    def differ(self) -> bool:
        return bool(self.config or self.aws or self.kubernetes)

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "differ": self.differ, "placeholders": [PREFIX, ENVIRONMENT],
                **{level: [c.as_dict() for c in getattr(self, level)] for level in ("config", "aws", "kubernetes")}}


def diff(a: str, b: str, progress: Progress = lambda _: None) -> Difference:
    """Compare two configs, each a path or `REV:path` (the file at a git revision)."""
    with tempfile.TemporaryDirectory(prefix="supa-engine-diff-") as scratch:
        sides = [_side(spec, Path(scratch) / name, progress) for spec, name in ((a, "a"), (b, "b"))]
        (a_loaded, a_out), (b_loaded, b_out) = sides
        labels = [loaded.config.project.environment for loaded, _ in sides]
        if labels[0] == labels[1]:
            labels = [a, b]
        return Difference(
            a=labels[0], b=labels[1],
            config=tuple(config_changes(a_loaded, b_loaded, _origin_renamer(a, Path(scratch) / "a"),
                                        _origin_renamer(b, Path(scratch) / "b"))),
            aws=tuple(_changes(a_out["aws"], b_out["aws"])),
            kubernetes=tuple(_changes(a_out["kubernetes"], b_out["kubernetes"])),
        )


def _side(spec: str, scratch: Path, progress: Progress) -> tuple[Loaded, dict[str, dict[str, Any]]]:
    path = checkout(spec, scratch / "tree")
    loaded = load_config(path)
    resolved = resolve(loaded.config)
    progress(f"{spec}: synthesizing {resolved.config.project.environment} in a scratch directory")
    (scratch / "out").mkdir(parents=True)
    compiled = compile_all(resolved, scratch / "out")
    names = (resolved.prefix, resolved.config.project.environment)
    aws = {f"{stack}/{address}": _normalized(body, names) for stack, tree in compiled.stacks.items()
           for address, body in _addresses(tree)}
    kubernetes = {_normalized(_object_key(doc), names): _normalized(doc, names) for doc in compiled.manifests}
    return loaded, {"aws": aws, "kubernetes": kubernetes}


def checkout(spec: str, scratch: Path) -> Path:
    """The config file a spec names: a path as is, or `REV:path` exported from git at that revision.

    The whole tree of the revision is exported, so `extends` finds the base file as it was then.
    """
    if Path(spec).exists() or ":" not in spec:
        return Path(spec)
    revision, _, path = spec.partition(":")
    try:
        top = Path(_git("rev-parse", "--show-toplevel").decode().strip())
        relative = (Path.cwd() / path).resolve().relative_to(top.resolve())
        archive = _git("-C", str(top), "archive", "--format=tar", revision)
    except ValueError:
        raise EngineError(f"{path} is outside the git repository", "name a file of this repository") from None
    scratch.mkdir(parents=True)
    tar_path = scratch.parent / "tree.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(scratch, filter="data")
    if not (scratch / relative).is_file():
        raise EngineError(f"{relative} does not exist at {revision}", "check the revision and path with git log")
    return scratch / relative


def _git(*args: str) -> bytes:
    try:
        return subprocess.run(["git", *args], check=True, capture_output=True).stdout
    except FileNotFoundError:
        raise EngineError("`REV:path` needs git on PATH", "or compare two checkouts by path") from None
    except subprocess.CalledProcessError as exc:
        raise EngineError(f"git: {exc.stderr.decode(errors='replace').strip()}",
                          "REV:path takes a revision git knows, such as main or HEAD~1") from None


def _origin_renamer(spec: str, scratch: Path) -> Mapping[str, str]:
    """Origins of an exported revision point into the scratch tree; show them as `REV:path`."""
    if Path(spec).exists() or ":" not in spec:
        return {}
    return {os.path.abspath(scratch / "tree"): spec.partition(":")[0] + ":"}


# ----------------------------------------------------------------------------- the config level


def config_changes(a: Loaded, b: Loaded, a_renames: Mapping[str, str] = {},
                   b_renames: Mapping[str, str] = {}) -> Iterator[Change]:
    """Each key of the merged, defaulted config whose value differs, with where each side got it."""
    a_values, b_values = _leaves(a.config.model_dump(mode="json"), b.config.model_dump(mode="json"))
    a_origins, b_origins = _origins(a, a_renames), _origins(b, b_renames)
    for path in sorted(a_values.keys() | b_values.keys(), key=_path_order):
        kind = _kind(path, a_values, b_values)
        if kind is None:
            continue
        yield Change(kind, ".".join(map(str, path)), "", a_values.get(path), b_values.get(path),
                     a_origins.get(path, "default") if path in a_values else "",
                     b_origins.get(path, "default") if path in b_values else "")


def _leaves(a: Mapping[str, Any], b: Mapping[str, Any], prefix: tuple[Any, ...] = ()
            ) -> tuple[dict[tuple[Any, ...], Any], dict[tuple[Any, ...], Any]]:
    """Both trees flattened to leaves where both sides are mappings; elsewhere (a list, or a null
    on one side) the value is compared whole, since an overlay replaces it whole."""
    a_leaves: dict[tuple[Any, ...], Any] = {}
    b_leaves: dict[tuple[Any, ...], Any] = {}
    for key in [*a, *(k for k in b if k not in a)]:
        path = (*prefix, key)
        if isinstance(a.get(key), dict) and isinstance(b.get(key), dict):
            nested_a, nested_b = _leaves(a[key], b[key], path)
            a_leaves.update(nested_a)
            b_leaves.update(nested_b)
            continue
        if key in a:
            a_leaves[path] = a[key]
        if key in b:
            b_leaves[path] = b[key]
    return a_leaves, b_leaves


def _origins(loaded: Loaded, renames: Mapping[str, str]) -> dict[tuple[Any, ...], str]:
    merged = loaded.merged
    origins = {path: f"{_rename(loc.file, renames)}:{loc.line}" for path, loc in merged.origins.items()}
    origins.update(dict.fromkeys(merged.derived, f"named after {_rename(merged.entry, renames)}"))
    return origins


def _rename(file: str, renames: Mapping[str, str]) -> str:
    absolute = os.path.abspath(file)
    for directory, label in renames.items():
        if absolute.startswith(directory + "/"):
            return label + absolute[len(directory) + 1:]
    return file


def _path_order(path: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(p) for p in path)


def _kind(key: Any, a: Mapping[Any, Any], b: Mapping[Any, Any]) -> Kind | None:
    if key not in b:
        return "only_a"
    if key not in a:
        return "only_b"
    return None if a[key] == b[key] else "changed"


# ----------------------------------------------------------------- the resource and object levels


def _addresses(stack: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for block, prefix in (("resource", ""), ("data", "data.")):
        for kind, items in stack.get(block, {}).items():
            for name, body in items.items():
                yield f"{prefix}{kind}.{name}", body


def _object_key(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata", {})
    return "/".join(str(p) for p in (doc.get("kind"), meta.get("namespace"), meta.get("name")) if p)


def _normalized(value: Any, names: tuple[str, str]) -> Any:
    """`value` with CDK Terrain's `//` metadata dropped and environment-derived names as placeholders."""
    prefix, environment = names
    if isinstance(value, dict):
        return {k: _normalized(v, names) for k, v in value.items() if not str(k).startswith("//")}
    if isinstance(value, list):
        return [_normalized(v, names) for v in value]
    if isinstance(value, str):  # whole path segments only: `dev` in `supa-engine/dev/x` but not in `device`
        segments = value.replace(prefix, PREFIX).split("/")
        return "/".join(ENVIRONMENT if segment == environment else segment for segment in segments)
    return value


def _changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> Iterator[Change]:
    for subject in sorted(a.keys() | b.keys()):
        kind = _kind(subject, a, b)
        if kind == "changed":
            fields_a, fields_b = _fields(a[subject]), _fields(b[subject])
            for field in sorted(fields_a.keys() | fields_b.keys()):
                field_kind = _kind(field, fields_a, fields_b)
                if field_kind is not None:
                    yield Change(field_kind, subject, field, fields_a.get(field), fields_b.get(field))
        elif kind is not None:
            yield Change(kind, subject)


def _fields(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves by field path; list items named by their `name` when every item has one."""
    if isinstance(value, dict) and value:
        items: list[tuple[str, Any]] = [(f"{prefix}.{k}" if prefix else str(k), v) for k, v in value.items()]
    elif isinstance(value, list) and value:
        named = all(isinstance(v, dict) and isinstance(v.get("name"), str) for v in value)
        names = [v["name"] for v in value] if named else []
        keys = [f"[name={n}]" for n in names] if named and len(set(names)) == len(names) else \
            [f"[{i}]" for i in range(len(value))]
        items = list(zip((prefix + k for k in keys), value, strict=True))
    else:
        return {prefix: value}
    fields: dict[str, Any] = {}
    for path, item in items:
        fields.update(_fields(item, path))
    return fields


# ---------------------------------------------------------------------------------- text output


def render_text(difference: Difference, width: int = 100) -> str:
    """The differences for a terminal or a pull request comment; long values are shortened."""
    a, b = difference.a, difference.b
    lines = [f"--- {a}", f"+++ {b}",
             f"(names derived from the environment are shown as {PREFIX} and {ENVIRONMENT})", ""]
    lines += _section("Config", difference.config, a=a, b=b, width=width, noun="keys")
    lines += _section("AWS resources", difference.aws, a=a, b=b, width=width, noun="resources")
    lines += _section("Kubernetes objects", difference.kubernetes, a=a, b=b, width=width, noun="objects")
    if not difference.differ:
        lines.append(f"{a} and {b} compile to the same platform")
    return "\n".join(lines).rstrip("\n") + "\n"


def _section(title: str, changes: tuple[Change, ...], *, a: str, b: str, width: int, noun: str) -> list[str]:
    if not changes:
        return [f"{title}: no differences", ""]
    subjects = {c.subject for c in changes}
    counts = {k: len({c.subject for c in changes if c.kind == k and not c.field}) for k in ("only_a", "only_b")}
    summary = f"{title}: {len(subjects)} {noun} differ ({counts['only_a']} only in {a}, {counts['only_b']} only in {b})"
    lines = [summary]
    current = None
    for change in changes:
        if not change.field and change.kind != "changed":
            lines.append(f"  {'-' if change.kind == 'only_a' else '+'} {change.subject}  (only in "
                         f"{a if change.kind == 'only_a' else b})")
            continue
        if change.subject != current:
            lines.append(f"  ~ {change.subject}")
            current = change.subject
        indent = "      " if change.field else "    "
        if change.field:
            lines.append(f"    {change.field}")
        for side, value, origin, present in ((a, change.a, change.a_origin, change.kind != "only_b"),
                                             (b, change.b, change.b_origin, change.kind != "only_a")):
            shown = _short(value, width) if present else "(absent)"
            lines.append(f"{indent}{side}: {shown}" + (f"  ({origin})" if origin else ""))
    return [*lines, ""]


def _short(value: Any, width: int) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."
