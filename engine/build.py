"""Compile every target of one environment into a directory and check it: the heavy half of synth.

CDK Terrain, the Helm engine and the checks are imported here and nowhere on synth's cached path,
so reusing an unchanged output never pays for them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.checks import check_all
from engine.errors import EngineError
from engine.graph import intended_flows
from engine.manifest import StackEntry, ordered, read_manifest
from engine.render import chart_path, render_chart
from engine.resolve import Resolved
from engine.synth import Built, Progress, Stage, SynthesizedStack
from engine.targets.argocd import applications
from engine.targets.helm import compile_values, derived_outputs
from engine.targets.platform import namespaces
from engine.targets.terraform.app import synthesize
from engine.upgrade import bundle_of
from engine.write import dump_yaml, load_yaml_all, write_text


class ChecksFailed(EngineError):
    """The compiled output breaks an invariant; nothing was written."""


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


def build(resolved: Resolved, staging: Path, *, progress: Progress) -> Built:
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
    return [doc for doc in load_yaml_all(rendered) if isinstance(doc, dict)]


def read_stacks(terraform: Path, entries: Sequence[StackEntry] | None = None) -> dict[str, dict[str, Any]]:
    """Each stack's parsed cdk.tf.json, in dependency order; `entries` if the manifest was read already."""
    if entries is None:
        entries = ordered(read_manifest(terraform / "manifest.json"))
    return {entry.name: json.loads((terraform / entry.synthesized_path).read_text()) for entry in entries}
