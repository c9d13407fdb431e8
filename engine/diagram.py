"""The platform of one environment as a picture: a graph model built from the resolved config.

`platform` is pure and needs no synthesis (tests check the model); Mermaid and DOT renderers
turn it into text, and Graphviz's `dot`, when installed, into SVG. The traffic edges are the
service graph's flows (`engine.graph`), with the outside peers drawn as the AWS parts they are.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass

from engine.catalog import BY_NAME
from engine.errors import EngineError
from engine.graph import DNS, intended_flows, workloads
from engine.resolve import Resolved

# Where each outside peer of the service graph is drawn (DNS is left out: every workload uses it).
PEER_NODES = {"load-balancer": "alb", "database": "rds", "s3": "s3_endpoint", "aws-api": "interface_endpoints",
              "smtp": "smtp", "identity-providers": "identity_providers"}


@dataclass(frozen=True)
class Group:
    id: str
    label: str
    parent: str | None = None


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    group: str | None
    shape: str = "box"  # box, round (an outside party), cylinder (a data store)


@dataclass(frozen=True)
class Link:
    source: str
    target: str
    label: str
    traffic: bool = True  # False: a structural link (attachment, egress path), drawn dashed


@dataclass(frozen=True)
class Diagram:
    title: str
    groups: tuple[Group, ...]
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]


def platform(resolved: Resolved) -> Diagram:
    """Groups, nodes and links of the environment, in a fixed order (the renderers keep it)."""
    config = resolved.config
    network, db = config.network, config.database
    groups = [Group("region", f"AWS {config.project.region} (account {config.project.account_id})"),
              Group("vpc", f"VPC {network.vpc_cidr}", "region")]
    nodes = [Node("internet", "Internet", None, "round")]
    links: list[Link] = []
    waf = config.security.waf
    if waf.enabled:
        nodes.append(Node("waf", f"WAF web ACL<br/>rate limit {waf.rate_limit} per 5 min per IP", "region"))
        links += [Link("internet", "waf", "HTTPS 443"), Link("waf", "alb", "allowed requests")]
    else:
        links.append(Link("internet", "alb", "HTTPS 443"))
    for zone in resolved.subnets:
        name = network.zone_names[zone.index] if network.zone_names else f"zone {zone.index + 1}"
        group = f"zone{zone.index}"
        groups.append(Group(group, f"{name}", "vpc"))
        nodes += [Node(f"public{zone.index}", f"public subnet<br/>{zone.public}", group),
                  Node(f"private{zone.index}", f"private subnet<br/>{zone.private}", group),
                  Node(f"database{zone.index}", f"database subnet<br/>{zone.database}", group)]
        if network.nat == "per_az" or zone.index == 0:
            nodes.append(Node(f"nat{zone.index}", "NAT gateway", group))
            links.append(Link(f"nat{zone.index}", "internet", "egress", traffic=False))
        nat = zone.index if network.nat == "per_az" else 0
        links.append(Link(f"private{zone.index}", f"nat{nat}", "default route", traffic=False))
    nodes += [
        Node("alb", f"Application Load Balancer<br/>{resolved.names['load_balancer']}, TLS, public subnets", "vpc"),
        Node("s3_endpoint", "S3 gateway endpoint", "vpc"),
        Node("interface_endpoints", "interface endpoints<br/>" + ", ".join(network.interface_endpoints), "vpc"),
        Node("rds", f"RDS PostgreSQL {db.engine_version}<br/>{db.instance_class}, "
             + ("multi-AZ (standby in a second zone)" if db.multi_az else "single-AZ")
             + f"<br/>database subnets, backups {db.backup_retention_days} days", "vpc", "cylinder"),
    ]
    groups += [Group("eks", f"EKS {resolved.names['cluster']} (Kubernetes {config.cluster.kubernetes_version})",
                     "vpc"),
               Group("namespace", "namespace supabase", "eks")]
    for name, node_group in config.cluster.node_groups.items():
        nodes.append(Node(f"nodes_{_id(name)}", f"node group {name}<br/>{', '.join(node_group.instance_types)}<br/>"
                          f"{node_group.capacity.replace('_', '-')}, {node_group.min_size}-{node_group.max_size} "
                          "nodes, private subnets", "eks"))
    for workload in workloads(resolved):
        summary = BY_NAME[workload].summary.split(":")[0] if workload in BY_NAME else "Job"
        service = resolved.service(workload)
        replicas = f", {service.scaling.min_replicas}-{service.scaling.max_replicas} pods" if service else ""
        nodes.append(Node(f"w_{_id(workload)}", f"{workload}<br/>{summary}{replicas}", "namespace"))
    groups.append(Group("regional", "regional services", "region"))
    nodes += [
        Node("storage_bucket", f"S3 {resolved.names['storage_bucket']}<br/>SSE-KMS data key", "regional", "cylinder"),
        Node("log_bucket", f"S3 {resolved.names['log_bucket']}<br/>access logs", "regional", "cylinder"),
        Node("kms", f"KMS keys {resolved.names['kms_alias']}-logs, -data, -eks<br/>rotated every "
             f"{config.security.kms_rotation_days} days", "regional"),
        Node("secrets", f"Secrets Manager<br/>{len(resolved.secrets)} secrets under {resolved.names['secret_prefix']}",
             "regional"),
    ]
    links += [Link("s3_endpoint", "storage_bucket", "objects", traffic=False),
              Link("storage_bucket", "log_bucket", "access logs", traffic=False),
              Link("interface_endpoints", "secrets", "secret values (External Secrets)", traffic=False)]
    if config.supabase.auth.smtp is not None:
        nodes.append(Node("smtp", f"SMTP {config.supabase.auth.smtp.host}", None, "round"))
    traffic = _traffic(resolved)
    if any("identity_providers" in (link.source, link.target) for link in traffic):
        nodes.append(Node("identity_providers", "sign-in and SMS providers", None, "round"))
    links += traffic
    return Diagram(f"{resolved.prefix} - Supabase on AWS", tuple(groups), tuple(nodes), tuple(links))


def _traffic(resolved: Resolved) -> list[Link]:
    ports: dict[tuple[str, str], set[tuple[str, int]]] = defaultdict(set)
    for flow in intended_flows(resolved):
        if flow.server == DNS:
            continue
        ends = [PEER_NODES.get(end) or f"w_{_id(end)}" for end in (flow.client, flow.server)]
        ports[ends[0], ends[1]].add((flow.protocol, flow.port))
    return [Link(source, target, ", ".join(f"{p} {n}" for p, n in sorted(ports[source, target])))
            for source, target in sorted(ports)]


def _id(name: str) -> str:
    return name.replace("-", "_").replace(".", "_")


# ------------------------------------------------------------------------------------ renderers


def as_mermaid(diagram: Diagram) -> str:
    """A Mermaid flowchart with one subgraph per group."""
    lines = ["---", f"title: {diagram.title}", "---", "flowchart LR"]
    shapes = {"box": ('["', '"]'), "round": ('(["', '"])'), "cylinder": ('[("', '")]')}

    def emit(group: str | None, depth: int) -> None:
        pad = "    " * depth
        for node in (n for n in diagram.nodes if n.group == group):
            opening, closing = shapes[node.shape]
            lines.append(f"{pad}{node.id}{opening}{node.label}{closing}")
        for child in (g for g in diagram.groups if g.parent == group):
            lines.append(f'{pad}subgraph {child.id}["{child.label}"]')
            emit(child.id, depth + 1)
            lines.append(f"{pad}end")

    emit(None, 1)
    for link in diagram.links:
        arrow = "-->" if link.traffic else "-.->"
        lines.append(f'    {link.source} {arrow}|"{link.label}"| {link.target}')
    return "\n".join(lines) + "\n"


def as_dot(diagram: Diagram) -> str:
    """A Graphviz digraph with one cluster per group; structural links dashed."""
    shapes = {"box": "box", "round": "ellipse", "cylinder": "cylinder"}
    lines = ["digraph platform {", "    rankdir=LR;", "    compound=true;", '    fontname="Helvetica";',
             f'    label="{diagram.title}";', "    labelloc=t;",
             '    node [shape=box, fontname="Helvetica", fontsize=10];', '    edge [fontname="Helvetica", fontsize=9];']

    def emit(group: str | None, depth: int) -> None:
        pad = "    " * depth
        for node in (n for n in diagram.nodes if n.group == group):
            label = node.label.replace("<br/>", "\\n").replace('"', '\\"')
            lines.append(f'{pad}{node.id} [label="{label}", shape={shapes[node.shape]}];')
        for child in (g for g in diagram.groups if g.parent == group):
            lines.append(f"{pad}subgraph cluster_{child.id} {{")
            lines.append(f'{pad}    label="{child.label}";')
            emit(child.id, depth + 1)
            lines.append(f"{pad}}}")

    emit(None, 1)
    for link in diagram.links:
        style = "" if link.traffic else ", style=dashed, color=gray40"
        lines.append(f'    {link.source} -> {link.target} [label="{link.label}"{style}];')
    return "\n".join([*lines, "}"]) + "\n"


def as_svg(dot: str) -> str:
    """SVG drawn by Graphviz; an error with the install hint when `dot` is missing."""
    binary = shutil.which("dot")
    if binary is None:
        raise EngineError("SVG output needs Graphviz's `dot` on PATH",
                          "install Graphviz (Debian/Ubuntu: apt-get install graphviz), or use --format dot")
    result = subprocess.run([binary, "-Tsvg"], input=dot.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        raise EngineError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout.decode()

