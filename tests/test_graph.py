"""The intended graph: derived from the catalog alone, filtered by the config, printed three ways."""

from __future__ import annotations

import ipaddress
import re

import pytest

from engine.catalog import BY_NAME, COMPONENT_NAMES, EDGES, JOBS, PEER_EDGES, PEERS
from engine.graph import CONDITIONS, DNS, Flow, as_dot, as_mermaid, as_table, intended_flows, peer_blocks, workloads
from tests.support import EXAMPLES, resolved_env

FLOWS = [
    Flow("kong", "auth", 9999, "TCP", "/auth/v1"),
    Flow("kong", "dns", 53, "UDP", "name resolution"),
    Flow("kong", "dns", 53, "TCP", "name resolution"),
    Flow("load-balancer", "kong", 8000, "TCP", "public API"),
]


def test_catalog_graph_is_consistent() -> None:
    """Every edge names known ends, a known condition and (for components) the server's real port."""
    ends = {*COMPONENT_NAMES, *JOBS, *(p.name for p in PEERS)}
    for edge in (*EDGES, *PEER_EDGES):
        assert {edge.client, edge.server} <= ends, edge
        assert edge.when is None or edge.when in CONDITIONS, edge
        assert edge.protocol in ("TCP", "UDP"), edge
        if edge.client in BY_NAME and edge.server in BY_NAME and edge.client != edge.server:
            assert edge.port == BY_NAME[edge.server].port, edge
    for peer in PEERS:
        assert peer.addresses in ("cluster-dns", "public-subnets", "private-subnets", "database-subnets",
                                  "sts-endpoint", "internet")
        assert bool(peer.why_broad) == (peer.addresses == "internet"), peer.name


@pytest.mark.parametrize("env", EXAMPLES)
def test_flows_connect_only_what_exists(env: str) -> None:
    resolved = resolved_env(env)
    flows = intended_flows(resolved)
    present = {*workloads(resolved), *(p.name for p in PEERS)}
    assert flows == sorted(set(flows))
    assert all(f.client in present and f.server in present for f in flows)
    for workload in workloads(resolved):  # everybody resolves names, over both protocols
        assert {(f.protocol, f.port) for f in flows if f.client == workload and f.server == DNS} == \
            {("UDP", 53), ("TCP", 53)}
    database = {f.client for f in flows if f.server == "database"}
    assert database == {s.name for s in resolved.services if s.uses_database} | (set(workloads(resolved)) & set(JOBS))
    assert {f.server for f in flows if f.client == "load-balancer"} == {"kong"}


@pytest.mark.parametrize("env", EXAMPLES)
def test_address_peers_come_from_the_subnet_plan(env: str) -> None:
    resolved = resolved_env(env)
    assert [b.cidr for b in peer_blocks(resolved, "database")] == [z.database for z in resolved.subnets]
    assert [b.cidr for b in peer_blocks(resolved, "load-balancer")] == [z.public for z in resolved.subnets]
    # Storage reaches STS at the endpoint's fixed address in each zone, not the whole private subnet.
    sts = [b.cidr for b in peer_blocks(resolved, "aws-api")]
    assert sts == [f"{z.sts_endpoint}/32" for z in resolved.subnets]
    assert all(ipaddress.ip_address(z.sts_endpoint) in ipaddress.ip_network(z.private) for z in resolved.subnets)
    internet = peer_blocks(resolved, "s3")
    assert [b.cidr for b in internet] == ["0.0.0.0/0"] and "10.0.0.0/8" in internet[0].excepted
    assert peer_blocks(resolved, DNS) == () and peer_blocks(resolved, "kong") == ()


def test_table() -> None:
    lines = as_table(FLOWS).splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["CLIENT", "SERVER", "PORT", "PROTOCOL", "WHY"]
    assert re.split(r"\s{2,}", lines[1]) == ["kong", "auth", "9999", "TCP", "/auth/v1"]
    assert len(lines) == 1 + len(FLOWS)
    assert len({line.index("SERVER") if i == 0 else line.index(FLOWS[i - 1].server)
                for i, line in enumerate(lines)}) == 1, "columns line up"


def test_mermaid() -> None:
    assert as_mermaid(FLOWS) == (
        "flowchart LR\n"
        '    auth["auth"]\n'
        '    dns(["dns"])\n'
        '    kong["kong"]\n'
        '    load_balancer(["load-balancer"])\n'
        '    kong -->|"TCP 9999"| auth\n'
        '    kong -->|"TCP 53, UDP 53"| dns\n'
        '    load_balancer -->|"TCP 8000"| kong\n'
    )


def test_dot() -> None:
    assert as_dot(FLOWS) == (
        "digraph supabase {\n"
        "    rankdir=LR;\n"
        "    node [shape=box];\n"
        '    "auth";\n'
        '    "dns" [shape=ellipse];\n'
        '    "kong";\n'
        '    "load-balancer" [shape=ellipse];\n'
        '    "kong" -> "auth" [label="TCP 9999"];\n'
        '    "kong" -> "dns" [label="TCP 53, UDP 53"];\n'
        '    "load-balancer" -> "kong" [label="TCP 8000"];\n'
        "}\n"
    )


def test_renderers_are_deterministic() -> None:
    flows = intended_flows(resolved_env("prod"))
    for render in (as_table, as_mermaid, as_dot):
        assert render(flows) == render(list(reversed(flows)))
