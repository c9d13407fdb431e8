"""The stack graph as data: levels, the delivery mode, and the renderers `graph` prints."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from engine.config.model.operations import Delivery
from engine.stack_graph import STACKS, as_table, describe_levels, dot_lines, mermaid_lines, stack_graph
from tests.support import example, resolved_env

PROD = resolved_env("prod").config


def test_the_graph_is_three_levels_with_data_and_cluster_together() -> None:
    nodes = stack_graph(PROD)
    assert [(n.name, n.level, n.after) for n in nodes] == [
        ("network", 1, ()), ("cluster", 2, ("network",)), ("data", 2, ("network",)),
        ("workloads", 3, ("data", "cluster"))]
    assert describe_levels((("network",), ("cluster", "data"), ("workloads",))) == (
        "level 1: network; level 2: cluster, data (in parallel); level 3: workloads")


def test_argocd_delivery_has_no_workloads_stack() -> None:
    argocd = PROD.model_copy(update={"delivery": Delivery.model_construct(mode="argocd")})
    assert [n.name for n in stack_graph(argocd)] == ["network", "cluster", "data"]
    assert {s.name for s in STACKS if s.helm_only} == {"workloads"}


def test_renderers_show_every_stack_and_edge() -> None:
    nodes = stack_graph(PROD)
    table = as_table(nodes).splitlines()
    assert table[0].split() == ["LEVEL", "STACK", "AFTER", "HOLDS"]
    assert table[4].split()[:4] == ["3", "workloads", "data,", "cluster"]
    mermaid = "\n".join(mermaid_lines(nodes))
    assert "stack_network --> stack_data" in mermaid and "stack_cluster --> stack_workloads" in mermaid
    assert "stack_data --> stack_cluster" not in mermaid
    dot = "\n".join(dot_lines(nodes))
    assert '"stack:network" -> "stack:cluster";' in dot and "subgraph cluster_stacks {" in dot


@pytest.mark.parametrize(("fmt", "marker"), [("table", "LEVEL  STACK"), ("mermaid", "subgraph stacks"),
                                             ("dot", "subgraph cluster_stacks")])
def test_graph_command_prints_the_stacks_with_the_flows(fmt: str, marker: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--format", fmt, str(example("prod"))]) == 0
    out = capsys.readouterr().out
    assert marker in out and "kong" in out and "workloads" in out
    if fmt == "dot":
        assert out.rstrip().endswith("}") and out.count("{") == out.count("}")


def test_graph_json_lists_the_stacks_by_level(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--format", "json", str(example("dev"))]) == 0
    stacks = json.loads(capsys.readouterr().out)["stacks"]
    assert [(s["name"], s["level"], s["after"]) for s in stacks] == [
        ("network", 1, []), ("cluster", 2, ["network"]), ("data", 2, ["network"]),
        ("workloads", 3, ["data", "cluster"])]
