"""The synth pipeline for one or more configs: load -> resolve -> compile -> check -> write.

Several configs share one process, so the cost of importing CDK Terrain is paid once. Each
environment's output directory is replaced only when its synthesis and every check succeed.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from engine.checks import check_all
from engine.config import load_config
from engine.errors import EngineError
from engine.graph import intended_flows
from engine.manifest import ordered, read_manifest
from engine.render import chart_path, render_chart
from engine.resolve import Resolved, resolve
from engine.targets.argocd import applications
from engine.targets.helm import compile_values, placeholder_outputs
from engine.targets.platform import namespaces
from engine.targets.terraform.app import synthesize
from engine.write import replace_directory

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SynthesizedStack:
    name: str
    resources: int
    data_sources: int
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class SynthReport:
    """What one environment's synthesis produced (no values, only shapes and places)."""

    config: str
    environment: str
    directory: Path
    stacks: tuple[SynthesizedStack, ...]
    kubernetes_objects: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "environment": self.environment,
            "directory": str(self.directory),
            "kubernetes_objects": self.kubernetes_objects,
            "stacks": [
                {"name": s.name, "resources": s.resources, "data_sources": s.data_sources,
                 "depends_on": list(s.depends_on)}
                for s in self.stacks
            ],
        }


class ChecksFailed(EngineError):
    """The compiled output breaks an invariant; nothing was written."""


def synth(configs: Sequence[Path], out: Path, progress: Progress = lambda _: None) -> list[SynthReport]:
    """Synthesize each config into `out/<environment>/`; stops at the first failure."""
    return [synth_one(path, out, progress)[1] for path in configs]


def synth_one(path: Path, out: Path, progress: Progress = lambda _: None) -> tuple[Resolved, SynthReport]:
    """Synthesize one config; also returns its resolved facts for the deploy that follows."""
    resolved = resolve(load_config(path).config)
    environment = resolved.config.project.environment
    target = out / environment
    progress(f"{path}: synthesizing {environment}")
    stacks, objects = replace_directory(target, partial(_build, resolved, progress=progress))
    progress(f"{path}: wrote {target}")
    return resolved, SynthReport(str(path), environment, target, stacks, objects)


def check(config: Path, progress: Progress = lambda _: None) -> tuple[tuple[SynthesizedStack, ...], int]:
    """Synthesize into a scratch directory and run every invariant; writes nothing.

    Returns the stacks and the number of Kubernetes objects that passed.
    """
    resolved = resolve(load_config(config).config)
    with tempfile.TemporaryDirectory(prefix="supa-engine-check-") as scratch:
        return _build(resolved, Path(scratch), progress=progress)


def _build(resolved: Resolved, staging: Path, *, progress: Progress) -> tuple[tuple[SynthesizedStack, ...], int]:
    """Compile every target into `staging` and check it; raises ChecksFailed on a violation."""
    terraform = staging / "terraform"
    synthesize(resolved, terraform)
    entries = ordered(read_manifest(terraform / "manifest.json"))
    stacks = read_stacks(terraform)
    manifests = _kubernetes(resolved, staging)
    progress(f"  checking {len(stacks)} stacks and {len(manifests)} Kubernetes objects")
    problems = [f.render() for f in check_all(
        stacks, manifests, registries=resolved.config.security.image_registries,
        namespace_labels={ns.name: ns.labels for ns in namespaces()}, flows=intended_flows(resolved),
    )]
    if problems:
        raise ChecksFailed(
            f"{len(problems)} invariant violation(s) in the compiled output; nothing was written:\n"
            + "\n".join(f"  {p}" for p in problems),
            "this is a gap between the config rules and the compilers; please report it",
        )
    summaries = tuple(
        SynthesizedStack(
            name=entry.name,
            resources=sum(len(v) for v in stacks[entry.name].get("resource", {}).values()),
            data_sources=sum(len(v) for v in stacks[entry.name].get("data", {}).values()),
            depends_on=tuple(sorted(entry.dependencies)),
        )
        for entry in entries
    )
    return summaries, len(manifests)


def _kubernetes(resolved: Resolved, staging: Path) -> list[dict[str, Any]]:
    """The chart (copied, so Terraform and Argo CD install exactly what was reviewed), its values
    and its rendered manifests; with Argo CD delivery, the Applications too."""
    shutil.copytree(chart_path(), staging / "charts" / "supabase", ignore=shutil.ignore_patterns("__pycache__"))
    values = compile_values(resolved, placeholder_outputs(resolved))
    _write(staging / "helm" / "values.yaml", yaml.safe_dump(values, sort_keys=True))
    rendered = render_chart(values, kube_version=resolved.config.cluster.kubernetes_version)
    _write(staging / "kubernetes" / "manifests.yaml", rendered)
    if resolved.config.delivery.mode == "argocd":
        _write(staging / "kubernetes" / "argocd-applications.yaml",
               yaml.safe_dump_all(applications(resolved), sort_keys=True))
    return [doc for doc in yaml.safe_load_all(rendered) if isinstance(doc, dict)]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def read_stacks(terraform: Path) -> dict[str, dict[str, Any]]:
    """Each stack's parsed cdk.tf.json, in dependency order."""
    return {entry.name: json.loads((terraform / entry.synthesized_path).read_text())
            for entry in ordered(read_manifest(terraform / "manifest.json"))}
