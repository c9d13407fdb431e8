"""The synthesis cache: one key over every input of an environment's output, stamped into that output.

`plan`, `apply`, `destroy`, `check` and `synth` synthesize first; when the key matches and every
written file is byte-for-byte intact, a fresh synth would write the same files, so they are reused.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from engine import __version__
from engine.resources import data_path

STAMP = ".synth-key"
FORMAT = 1

# The distributions whose code shapes the output (the providers' bindings, the jsii runtime, the
# Helm engine, the model and YAML layers): an upgrade of any of them may change a byte.
PINNED = (
    "cdktn", "cdktn-provider-aws", "cdktn-provider-helm", "cdktn-provider-http", "constructs", "jsii",
    "helm-python-sdk", "pydantic", "pydantic-core", "pyyaml",
)

_ENGINE = Path(__file__).resolve().parent
_CHART = "charts/supabase"


def synth_key(config_files: Sequence[Path]) -> str:
    """SHA-256 over the config chain, the engine (version and every source file), the chart and `PINNED`.

    The engine's own files are in the key, not only its version: a checkout edited between two runs
    must not reuse output the previous code wrote. Each part is length-prefixed, so no two
    different sets of inputs can hash the same stream.
    """
    digest = hashlib.sha256()

    def part(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    part("format", str(FORMAT).encode())
    part("version", __version__.encode())
    for name in PINNED:
        part(f"dist:{name}", _version(name).encode())
    for path in config_files:
        part(f"config:{path.resolve()}", path.read_bytes())
    for label, root in (("engine", _ENGINE), ("chart", data_path(_CHART))):
        for relative, file in _files(root):
            part(f"{label}:{relative}", file.read_bytes())
    return digest.hexdigest()


def write_stamp(directory: Path, key: str, summary: Mapping[str, Any]) -> None:
    """Record `key`, the hash of every file in `directory` and the build's summary, in `directory`."""
    files = {relative: _sha256(file) for relative, file in _files(directory)
             if relative != STAMP and not _terraform_working_file(relative)}
    stamp = {"format": FORMAT, "key": key, "files": files, "summary": summary}
    (directory / STAMP).write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def reusable(directory: Path, key: str) -> Mapping[str, Any] | None:
    """The stamped summary when `directory` holds the intact output for `key`; None otherwise.

    Intact: every recorded file is there with its recorded hash, and nothing else is, except
    what Terraform itself leaves in a stack's directory (providers, lock file, plan, local state).
    """
    try:
        stamp = json.loads((directory / STAMP).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("format") != FORMAT or stamp.get("key") != key:
        return None
    recorded, summary = stamp.get("files"), stamp.get("summary")
    if not isinstance(recorded, dict) or not isinstance(summary, dict):
        return None
    seen = 0
    for relative, file in _files(directory):
        if relative == STAMP or (relative not in recorded and _terraform_working_file(relative)):
            continue
        if recorded.get(relative) != _sha256(file):
            return None
        seen += 1
    return summary if seen == len(recorded) else None


def _terraform_working_file(relative: str) -> bool:
    parts = relative.split("/")
    return any(p.startswith(".terraform") for p in parts) or parts[-1].endswith((".tfplan", ".tfstate", ".backup"))


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every file under `root` as (POSIX path relative to root, path), sorted; skips bytecode and
    Terraform's provider directories (hundreds of MB that are never part of the output)."""
    found: list[tuple[str, Path]] = []
    for folder, directories, names in os.walk(root):
        directories[:] = [d for d in directories if d not in ("__pycache__", ".terraform")]
        base = Path(folder)
        for name in names:
            if not name.endswith(".pyc"):
                path = base / name
                found.append((path.relative_to(root).as_posix(), path))
    return iter(sorted(found))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"
