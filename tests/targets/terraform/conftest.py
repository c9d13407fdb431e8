"""Synthesize the example environments once per session and share the parsed output.

Importing CDK Terrain costs seconds and most of a gigabyte, so every test in this package reads
the same synthesized JSON instead of synthesizing again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.config import load_config
from engine.resolve import Resolved, resolve
from engine.synth import read_stacks
from engine.targets.terraform.app import synthesize

ROOT = Path(__file__).resolve().parents[3]
ENVIRONMENTS = ("dev", "staging", "prod")


@dataclass(frozen=True)
class Synthesized:
    """One environment's synthesized output, parsed."""

    resolved: Resolved
    outdir: Path
    manifest: dict[str, Any]
    stacks: Mapping[str, dict[str, Any]]

    def resources(self, stack: str, kind: str) -> dict[str, Any]:
        """Resources of terraform type `kind` in `stack`, by name (empty when none)."""
        return dict(self.stacks[stack].get("resource", {}).get(kind, {}))

    def data(self, stack: str, kind: str) -> dict[str, Any]:
        return dict(self.stacks[stack].get("data", {}).get(kind, {}))

    def one(self, stack: str, kind: str, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.resources(stack, kind)[name]
        return found


def load_output(resolved: Resolved, outdir: Path) -> Synthesized:
    manifest = _json(outdir / "manifest.json")
    return Synthesized(resolved=resolved, outdir=outdir, manifest=manifest, stacks=read_stacks(outdir))


def resolve_environment(env: str) -> Resolved:
    return resolve(load_config(ROOT / "environments" / f"{env}.yaml").config)


def _json(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    root = tmp_path_factory.mktemp("terraform")
    output = {}
    for env in ENVIRONMENTS:
        resolved = resolve_environment(env)
        synthesize(resolved, root / env)
        output[env] = load_output(resolved, root / env)
    return output
