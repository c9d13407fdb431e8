"""The synth pipeline: load -> resolve -> compile -> check -> write, for one config or several.

Several configs share one process, so CDK Terrain's import is paid once; an environment's
output is replaced only when every check passes.
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
from engine.manifest import StackEntry, ordered, read_manifest
from engine.render import chart_path, render_chart
from engine.resolve import Resolved, resolve
from engine.targets.argocd import applications
from engine.targets.helm import compile_values, derived_outputs
from engine.targets.platform import namespaces
from engine.targets.terraform.app import synthesize
from engine.upgrade import bundle_of
from engine.write import dump_yaml, replace_directory, write_text

Progress = Callable[[str], None]


class Stage(str):
    """A progress note about a step of synthesis (compile, render, check, write): worth seeing
    while waiting at a terminal, noise in a log, unlike the deploy's reports."""

    __slots__ = ()


@dataclass(frozen=True)
class SynthesizedStack:
    name: str
    resources: int
    data_sources: int
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class Built:
    """What one build compiled and checked: the stacks in order and the Kubernetes objects."""

    stacks: tuple[SynthesizedStack, ...]
    kubernetes_objects: int


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


# Terraform's provider lock files survive re-synthesis: users commit them, and `init` then installs
# exactly the providers (and checksums) that were reviewed. `.terraform/` does not: its backend
# settings must follow the synthesized ones (providers come from the plugin cache instead).
KEPT = ("terraform/stacks/*/.terraform.lock.hcl",)


def synth_one(path: Path, out: Path, progress: Progress = lambda _: None) -> tuple[Resolved, SynthReport]:
    """Synthesize one config; also returns its resolved facts for the deploy that follows."""
    resolved = resolve(load_config(path).config)
    environment = resolved.config.project.environment
    target = out / environment
    built = replace_directory(target, partial(_build, resolved, progress=progress), keep=KEPT)
    progress(Stage(f"wrote {target}"))
    return resolved, SynthReport(str(path), environment, target, built.stacks, built.kubernetes_objects)


def check(config: Path, progress: Progress = lambda _: None) -> Built:
    """Synthesize into a scratch directory and run every invariant; writes nothing."""
    resolved = resolve(load_config(config).config)
    with tempfile.TemporaryDirectory(prefix="supa-engine-check-") as scratch:
        return _build(resolved, Path(scratch), progress=progress)


@dataclass(frozen=True)
class Compiled:
    """Everything one build compiled, parsed: stacks in order and the rendered Kubernetes objects."""

    entries: tuple[StackEntry, ...]
    stacks: dict[str, dict[str, Any]]
    manifests: list[dict[str, Any]]


def compile_all(resolved: Resolved, staging: Path, progress: Progress = lambda _: None) -> Compiled:
    """Compile every target into `staging` without checking it (`diff` reads the result)."""
    terraform = staging / "terraform"
    environment = resolved.config.project.environment
    progress(Stage(f"compiling {environment}: Terraform stacks with CDK Terrain"))
    synthesize(resolved, terraform)
    entries = tuple(ordered(read_manifest(terraform / "manifest.json")))
    stacks = read_stacks(terraform, entries)
    progress(Stage(f"rendering {environment}: chart values and Kubernetes manifests"))
    return Compiled(entries, stacks, _kubernetes(resolved, staging))


def _build(resolved: Resolved, staging: Path, *, progress: Progress) -> Built:
    """Compile every target into `staging` and check it; raises ChecksFailed on a violation."""
    compiled = compile_all(resolved, staging, progress)
    entries, stacks, manifests = compiled.entries, compiled.stacks, compiled.manifests
    environment = resolved.config.project.environment
    progress(Stage(f"checking {environment}: {len(stacks)} stacks and {len(manifests)} Kubernetes objects"))
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
    return Built(tuple(_summary(entry, stacks[entry.name]) for entry in entries), len(manifests))


def _summary(entry: StackEntry, stack: dict[str, Any]) -> SynthesizedStack:
    return SynthesizedStack(
        name=entry.name,
        resources=sum(len(v) for v in stack.get("resource", {}).values()),
        data_sources=sum(len(v) for v in stack.get("data", {}).values()),
        depends_on=tuple(sorted(entry.dependencies)),
    )


def _kubernetes(resolved: Resolved, staging: Path) -> list[dict[str, Any]]:
    """The chart (copied, so Terraform and Argo CD install exactly what was reviewed), its values
    and its rendered manifests; with Argo CD delivery, the Applications too."""
    shutil.copytree(chart_path(), staging / "charts" / "supabase", ignore=shutil.ignore_patterns("__pycache__"))
    values = compile_values(resolved, derived_outputs(resolved))
    write_text(staging / "helm" / "values.yaml", dump_yaml([values]))
    rendered = render_chart(values, kube_version=resolved.config.cluster.kubernetes_version)
    write_text(staging / "kubernetes" / "manifests.yaml", rendered)
    # The versions this output deploys, for a later `upgrade plan` to compare against.
    write_text(staging / "bundle.json", bundle_of(resolved).as_json())
    if resolved.config.delivery.mode == "argocd":
        write_text(staging / "kubernetes" / "argocd-applications.yaml", dump_yaml(applications(resolved)))
    return [doc for doc in yaml.safe_load_all(rendered) if isinstance(doc, dict)]


def read_stacks(terraform: Path, entries: Sequence[StackEntry] | None = None) -> dict[str, dict[str, Any]]:
    """Each stack's parsed cdk.tf.json, in dependency order; `entries` if the manifest was read already."""
    if entries is None:
        entries = ordered(read_manifest(terraform / "manifest.json"))
    return {entry.name: json.loads((terraform / entry.synthesized_path).read_text()) for entry in entries}
