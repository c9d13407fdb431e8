"""What several test modules share: where the repository and its examples are, the examples
resolved and rendered once per process, and synthesized Terraform output parsed for reading.

Plain helpers live here; fixtures live in the nearest conftest.py.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.build import read_stacks
from engine.config import load_config
from engine.render import render_chart, render_manifests
from engine.resolve import Resolved, resolve
from engine.targets.helm import compile_values, derived_outputs

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ("dev", "staging", "prod")
# The base config on its own, then every environment overlay.
EXAMPLES = ("supabase", *ENVIRONMENTS)


def example(name: str) -> Path:
    """The file of an example: `supabase` is the base config, any other name an environment overlay."""
    return ROOT / ("supabase.yaml" if name == "supabase" else f"environments/{name}.yaml")


@functools.cache
def resolved_env(name: str) -> Resolved:
    """An example (see `example`) loaded and resolved; cached, which is safe because `Resolved` is frozen."""
    return resolve(load_config(example(name)).config)


def render_objects(resolved: Resolved) -> list[dict[str, Any]]:
    """The chart's manifests for `resolved`, with placeholder Terraform outputs."""
    values = compile_values(resolved, derived_outputs(resolved))
    return render_manifests(values, kube_version=resolved.config.cluster.kubernetes_version)


@functools.cache
def rendered(name: str) -> tuple[dict[str, Any], ...]:
    """An example's rendered manifests (see `render_objects`); cached, callers must not modify them."""
    return tuple(render_objects(resolved_env(name)))


@functools.cache
def rendered_chart(name: str) -> tuple[Resolved, dict[str, Any], str]:
    """An example resolved, its values (placeholder Terraform outputs) and the chart rendered as text."""
    resolved = resolved_env(name)
    values = compile_values(resolved, derived_outputs(resolved))
    return resolved, values, render_chart(values, kube_version=resolved.config.cluster.kubernetes_version)


def documents(text: str) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a rendered chart."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def kong_config(text: str) -> str:
    """Kong's declarative config template from a rendered chart."""
    config: str = next(o for o in documents(text) if o["metadata"]["name"] == "kong-config")["data"]["kong.yml.tpl"]
    return config


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
    """The output that `synthesize(resolved, outdir)` wrote, parsed."""
    manifest: dict[str, Any] = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    return Synthesized(resolved=resolved, outdir=outdir, manifest=manifest, stacks=read_stacks(outdir))


def require_checkov() -> None:
    """checkov lives in its own environment (it pins boto3 exactly); skip or, in CI, fail without it."""
    from engine.checks.checkov import checkov_executable
    from engine.errors import EngineError
    from tests.tools import tool_missing

    try:
        checkov_executable()
    except EngineError as exc:
        tool_missing(f"{exc.message} ({exc.hint})")
