"""The Terraform stacks of an environment and what each waits for, as data without synthesis.

`supa-engine graph` is a core command (no CDK Terrain), so it prints the stack graph from this
description; a test asserts that the synthesized manifest has the same order constraints, so the
two cannot drift apart. Deploy itself always reads the synthesized manifest (`engine.manifest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.config.model import Config
from engine.manifest import stack_levels


@dataclass(frozen=True)
class StackSpec:
    name: str
    holds: str  # what the stack creates, for people reading the graph
    after: tuple[str, ...] = ()  # the stacks whose outputs it reads
    helm_only: bool = False  # exists only with `delivery.mode: helm`


STACKS: tuple[StackSpec, ...] = (
    StackSpec("network", "VPC, subnets, NAT, endpoints, flow logs, the data and logs KMS keys, the database "
              "and workload security groups"),
    StackSpec("data", "RDS, S3 buckets, Secrets Manager containers, WAF", ("network",)),
    StackSpec("cluster", "EKS control plane, node groups, add-ons, OIDC, IRSA roles", ("network",)),
    StackSpec("workloads", "Helm releases: platform controllers and charts/supabase", ("data", "cluster"),
              helm_only=True),
)


@dataclass(frozen=True)
class StackNode:
    name: str
    level: int
    after: tuple[str, ...]
    holds: str


def stack_graph(config: Config) -> tuple[StackNode, ...]:
    """The environment's stacks in apply order (by level, then name), each with its level."""
    present = [s for s in STACKS if not s.helm_only or config.delivery.mode == "helm"]
    specs = {s.name: s for s in present}
    levels = stack_levels({s.name: s.after for s in present})
    return tuple(StackNode(name, number, specs[name].after, specs[name].holds)
                 for number, level in enumerate(levels, 1) for name in level)


def dependencies(config: Config) -> dict[str, tuple[str, ...]]:
    return {node.name: node.after for node in stack_graph(config)}


# ------------------------------------------------------------------------------------ renderers


def describe_levels(levels: tuple[tuple[str, ...], ...]) -> str:
    """`level 1: network; level 2: cluster, data (in parallel); level 3: workloads`."""
    return "; ".join(f"level {number}: {', '.join(level)}" + (" (in parallel)" if len(level) > 1 else "")
                     for number, level in enumerate(levels, 1))


def as_table(nodes: tuple[StackNode, ...]) -> str:
    rows = [("LEVEL", "STACK", "AFTER", "HOLDS")]
    rows += [(str(n.level), n.name, ", ".join(n.after) or "-", n.holds) for n in nodes]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3] + "\n"
                   for row in rows)


def as_dicts(nodes: tuple[StackNode, ...]) -> list[dict[str, Any]]:
    return [{"name": n.name, "level": n.level, "after": list(n.after), "holds": n.holds} for n in nodes]


def mermaid_lines(nodes: tuple[StackNode, ...]) -> list[str]:
    """A subgraph of the stacks, arrows from a stack to the stacks that come after it."""
    lines = ['    subgraph stacks["Terraform stacks, applied level by level"]']
    lines += [f'        stack_{n.name}[["{n.name} (level {n.level})"]]' for n in nodes]
    lines += [f"        stack_{d} --> stack_{n.name}" for n in nodes for d in n.after]
    return [*lines, "    end"]


def dot_lines(nodes: tuple[StackNode, ...]) -> list[str]:
    lines = ["    subgraph cluster_stacks {", '        label="Terraform stacks, applied level by level";']
    lines += [f'        "stack:{n.name}" [label="{n.name}\\nlevel {n.level}", shape=folder];' for n in nodes]
    lines += [f'        "stack:{d}" -> "stack:{n.name}";' for n in nodes for d in n.after]
    return [*lines, "    }"]
