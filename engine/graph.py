"""Intended connectivity of one environment: every flow the NetworkPolicies allow, as data.

`intended_flows` is the service graph of the catalog (`EDGES` between workloads, `PEER_EDGES`
to and from parties outside the namespace) cut down to what the config enables: an edge
exists when both of its ends exist and its condition (`Edge.when`, evaluated by `CONDITIONS`)
holds; every workload also resolves names through the cluster DNS. The policy compiler turns
exactly these flows into NetworkPolicies, the connectivity test asserts that the analyser finds
exactly these flows in the rendered chart, and `supa-engine graph` prints them with the
renderers below (a table for review, Mermaid for Markdown, Graphviz DOT for pictures).

Peers that are address ranges are resolved by `peer_blocks` from the VPC plan, so the printed
graph, the policies and the proof agree on the CIDRs too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from engine.catalog import EDGES, JOBS, PEER_EDGES, PEERS, Edge
from engine.resolve import Resolved

DNS = "dns"
DNS_PORT = 53

# Ranges that are never "the internet": RFC 1918, carrier-grade NAT (EKS custom networking) and
# link-local (the instance metadata service). Internet peers are 0.0.0.0/0 minus these.
NON_PUBLIC: tuple[str, ...] = ("10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16")


@dataclass(frozen=True, order=True)
class Flow:
    """One allowed connection: `client` opens it to `server` on `port`/`protocol`."""

    client: str
    server: str
    port: int
    protocol: str
    why: str


@dataclass(frozen=True)
class IpBlock:
    """A NetworkPolicy `ipBlock`: `cidr` minus the `excepted` ranges."""

    cidr: str
    excepted: tuple[str, ...] = ()


def _realtime_clustered(resolved: Resolved) -> bool:
    realtime = resolved.service("realtime")
    return realtime is not None and max(realtime.scaling.min_replicas, realtime.scaling.max_replicas) > 1


def _auth_https(resolved: Resolved) -> bool:
    auth = resolved.config.supabase.auth
    return (any(p.enabled for p in auth.providers.values()) or auth.sms is not None
            or bool(auth.email_templates.model_dump(exclude_none=True)))


CONDITIONS: Mapping[str, Callable[[Resolved], bool]] = {
    # The chart routes kong -> studio only when operator CIDRs are listed (the ALB checks the
    # source IP, then kong asks for the dashboard password); otherwise studio takes no traffic.
    "studio_public": lambda r: bool(r.config.security.studio.allowed_cidrs),
    # A single realtime node has no peers to cluster with.
    "realtime_clustered": _realtime_clustered,
    "smtp": lambda r: r.config.supabase.auth.smtp is not None,
    # GoTrue calls sign-in providers, the SMS provider and template URLs itself.
    "auth_https": _auth_https,
    # Without an sts interface endpoint STS is reached over NAT, which the s3 rule already covers.
    "sts_endpoint": lambda r: "sts" in r.config.network.interface_endpoints,
}


def workloads(resolved: Resolved) -> tuple[str, ...]:
    """Names of the namespace's pod-bearing workloads: enabled components and their Jobs."""
    enabled = [s.name for s in resolved.services]
    return (*enabled, *(job for job, owner in JOBS.items() if owner is None or owner in enabled))


def intended_flows(resolved: Resolved) -> list[Flow]:
    """Every flow the environment's policies must allow, and nothing else, sorted."""
    present = {*workloads(resolved), *(p.name for p in PEERS)}
    flows = {
        Flow(edge.client, edge.server, _port(resolved, edge), edge.protocol, edge.why)
        for edge in (*EDGES, *PEER_EDGES)
        if edge.client in present and edge.server in present
        and (edge.when is None or CONDITIONS[edge.when](resolved))
    }
    for workload in workloads(resolved):
        flows |= {Flow(workload, DNS, DNS_PORT, protocol, "name resolution") for protocol in ("UDP", "TCP")}
    return sorted(flows)


def peer_blocks(resolved: Resolved, peer: str) -> tuple[IpBlock, ...]:
    """The address ranges of a peer selected by address (empty for DNS and workloads)."""
    addresses = next((p.addresses for p in PEERS if p.name == peer), None)
    if addresses == "internet":
        return (IpBlock("0.0.0.0/0", NON_PUBLIC),)
    subnets = {"public-subnets": "public", "private-subnets": "private", "database-subnets": "database"}
    if addresses in subnets:
        return tuple(IpBlock(getattr(zone, subnets[addresses])) for zone in resolved.subnets)
    if addresses == "sts-endpoint":
        return tuple(IpBlock(f"{zone.sts_endpoint}/32") for zone in resolved.subnets)
    return ()


def _port(resolved: Resolved, edge: Edge) -> int:
    if isinstance(edge.port, int):
        return edge.port
    value: object = resolved.config
    for part in edge.port.split("."):
        value = getattr(value, part)
    if not isinstance(value, int):  # the condition of the edge guarantees the setting exists
        raise AssertionError(f"{edge.port} is not a port number: {value!r}")
    return value


# ------------------------------------------------------------------------------------ renderers


def as_table(flows: Iterable[Flow]) -> str:
    """A fixed-width table, one flow a line (sorted), for terminals and review."""
    rows = [("CLIENT", "SERVER", "PORT", "PROTOCOL", "WHY")]
    rows += [(f.client, f.server, str(f.port), f.protocol, f.why) for f in sorted(flows)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4] + "\n"
                   for row in rows)


def as_mermaid(flows: Iterable[Flow], extra: Iterable[str] = ()) -> str:
    """A Mermaid flowchart: one arrow per client/server pair, labelled with its ports; ``extra``
    lines (a subgraph) go at the end."""
    edges = _grouped(flows)
    nodes = sorted({name for pair in edges for name in pair})
    lines = ["flowchart LR"]
    lines += [f"    {_node_id(n)}{'([' if _is_peer(n) else '['}\"{n}\"{'])' if _is_peer(n) else ']'}" for n in nodes]
    lines += [f'    {_node_id(c)} -->|"{label}"| {_node_id(s)}' for (c, s), label in edges.items()]
    return "\n".join([*lines, *extra]) + "\n"


def as_dot(flows: Iterable[Flow], extra: Iterable[str] = ()) -> str:
    """A Graphviz digraph: workloads as boxes, outside peers as ellipses; ``extra`` lines (a
    subgraph) before the closing brace."""
    edges = _grouped(flows)
    nodes = sorted({name for pair in edges for name in pair})
    lines = ["digraph supabase {", "    rankdir=LR;", "    node [shape=box];"]
    lines += [f'    "{n}"' + (" [shape=ellipse];" if _is_peer(n) else ";") for n in nodes]
    lines += [f'    "{c}" -> "{s}" [label="{label}"];' for (c, s), label in edges.items()]
    return "\n".join([*lines, *extra, "}"]) + "\n"


def _grouped(flows: Iterable[Flow]) -> dict[tuple[str, str], str]:
    ports: dict[tuple[str, str], set[tuple[str, int]]] = defaultdict(set)
    for flow in flows:
        ports[flow.client, flow.server].add((flow.protocol, flow.port))
    return {pair: ", ".join(f"{protocol} {port}" for protocol, port in sorted(ports[pair])) for pair in sorted(ports)}


def _is_peer(name: str) -> bool:
    return any(p.name == name for p in PEERS)


def _node_id(name: str) -> str:
    return name.replace("-", "_")
