"""The stack graph has three levels: network -> {data, cluster} -> workloads.

The data stack (RDS, typically 10-20 minutes) and the cluster stack (EKS, 10-15 minutes) read
only the network stack, so neither waits for the other; checked on the synthesized manifests of
every example environment, under both delivery modes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import synth
from engine.manifest import stack_order
from tests.support import ENVIRONMENTS, Synthesized, example

HELM_GRAPH = {"network": [], "data": ["network"], "cluster": ["network"], "workloads": ["cluster", "data", "network"]}
ARGOCD_GRAPH = {name: deps for name, deps in HELM_GRAPH.items() if name != "workloads"}


def _graph(manifest: dict[str, dict[str, dict[str, list[str]]]]) -> dict[str, list[str]]:
    return {name: sorted(entry["dependencies"]) for name, entry in manifest["stacks"].items()}


def _remote_inputs(stack: dict[str, dict[str, dict[str, object]]]) -> list[str]:
    return sorted(stack.get("data", {}).get("terraform_remote_state", {}))


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_helm_delivery_graph(synthesized: dict[str, Synthesized], name: str) -> None:
    out = synthesized[name]
    assert _graph(out.manifest) == HELM_GRAPH
    assert stack_order({n: tuple(d) for n, d in _graph(out.manifest).items()}) == (
        "network", "cluster", "data", "workloads")


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_cluster_and_data_read_only_the_network_stack(synthesized: dict[str, Synthesized], name: str) -> None:
    out = synthesized[name]
    network = "cross-stack-reference-input-network"
    for stack in ("cluster", "data"):
        assert _remote_inputs(out.stacks[stack]) == [network]
        text = json.dumps(out.stacks[stack])
        other = "data" if stack == "cluster" else "cluster"
        assert f"cross-stack-reference-input-{other}" not in text
    assert _remote_inputs(out.stacks["workloads"]) == sorted(
        f"cross-stack-reference-input-{s}" for s in ("cluster", "data", "network"))


@pytest.mark.slow
def test_argocd_delivery_graph(tmp_path: Path) -> None:
    overlays = []
    for name in ENVIRONMENTS:
        overlay = tmp_path / f"{name}.yaml"
        overlay.write_text(f"extends: {example(name)}\ndelivery:\n  mode: argocd\n  argocd:\n"
                           "    repo_url: https://git.example.com/acme/platform.git\n    path: out/x\n")
        overlays.append(overlay)
    reports = synth.synth(overlays, tmp_path / "out")
    assert len(reports) == len(ENVIRONMENTS)
    for report in reports:
        terraform = report.directory / "terraform"
        manifest = json.loads((terraform / "manifest.json").read_text())
        assert _graph(manifest) == ARGOCD_GRAPH, report.directory
        cluster = json.loads((terraform / "stacks" / "cluster" / "cdk.tf.json").read_text())
        assert _remote_inputs(cluster) == ["cross-stack-reference-input-network"]
