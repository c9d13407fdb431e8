"""Compile the intended flows of an environment into the NetworkPolicies of its namespace.

`compile_policies` is a pure function of the resolved config. It returns plain manifests:

* `default-deny`: every pod of the namespace starts with no ingress and no egress;
* `allow-<workload>`, one per pod-bearing workload (each enabled component and the Jobs
  `db-bootstrap` and, with realtime, `realtime-tenant`), selecting that workload's pods by the
  labels the chart puts on them and listing, per peer, exactly the ports of
  `engine.graph.intended_flows`: ingress from each client, egress to each server, DNS to the
  cluster's CoreDNS pods.

Policies add up, so a flow is open only when the client's policy allows it out *and* the
server's policy allows it in; both sides come from the same flow, so they cannot drift apart.
Peers outside the namespace are written as the narrowest selector the network design allows
(see `engine.catalog.PEERS`); where that is an internet range, the policy carries the reason in
an annotation next to the rule, and `engine.checks.policies` keeps its own allow-list of them.

The chart renders these (values key `networkPolicies`, `engine.targets.helm`); the connectivity
test proves with network-config-analyzer that the rendered set allows exactly the intended flows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from engine.catalog import PEERS
from engine.graph import DNS, Flow, intended_flows, peer_blocks, workloads
from engine.identities import SUPABASE_NAMESPACE
from engine.resolve import Resolved

NAMESPACE = SUPABASE_NAMESPACE
API_VERSION = "networking.k8s.io/v1"
DEFAULT_DENY = "default-deny"
# Annotation prefix for the reason of a rule whose peer is an internet range: `<prefix><peer>`.
BROAD_ANNOTATION = "supa-engine.io/broad-peer-"
# `app.kubernetes.io/part-of` is constant in the chart; the instance label would tie the
# policies to the Helm release name, which the engine does not own.
PART_OF = "supabase"
# EKS (vpc-cni network policy agent) matches CoreDNS pods by selector; the namespace is matched
# by the label every namespace gets from the API server.
DNS_PEER: dict[str, Any] = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}


def pod_labels(workload: str) -> dict[str, str]:
    """The labels a policy selects a workload's pods by (a subset of the chart's pod labels)."""
    return {"app.kubernetes.io/name": workload, "app.kubernetes.io/part-of": PART_OF}


def policy_name(workload: str) -> str:
    return f"allow-{workload}"


def compile_policies(resolved: Resolved) -> list[dict[str, Any]]:
    """The namespace's NetworkPolicies: default deny first, then one per workload in catalog order."""
    flows = intended_flows(resolved)
    names = set(workloads(resolved))
    policies = [_manifest(DEFAULT_DENY, {}, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})]
    for workload in workloads(resolved):
        ingress = [_rule("from", _peer(resolved, client, names), ports)
                   for client, ports in _by_peer((f for f in flows if f.server == workload), "client")]
        egress = [_rule("to", _peer(resolved, server, names), ports)
                  for server, ports in _by_peer((f for f in flows if f.client == workload), "server")]
        spec: dict[str, Any] = {"podSelector": {"matchLabels": pod_labels(workload)}}
        # nca accepts only this order, and it is the one `kubectl` shows.
        spec["policyTypes"] = [kind for kind, rules in (("Ingress", ingress), ("Egress", egress)) if rules]
        if ingress:
            spec["ingress"] = ingress
        if egress:
            spec["egress"] = egress
        broad = {f.server for f in flows if f.client == workload} & {p.name for p in PEERS if p.why_broad}
        annotations = {BROAD_ANNOTATION + p.name: p.why_broad for p in PEERS if p.name in broad}
        policies.append(_manifest(policy_name(workload), annotations, spec))
    return policies


def _manifest(name: str, annotations: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": API_VERSION, "kind": "NetworkPolicy", "metadata": metadata, "spec": spec}


def _by_peer(flows: Iterable[Flow], end: str) -> list[tuple[str, list[tuple[str, int]]]]:
    """Flows grouped by the other end (sorted), each with its sorted (protocol, port) pairs."""
    ports: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for flow in flows:
        ports[getattr(flow, end)].add((flow.protocol, flow.port))
    return [(peer, sorted(ports[peer], key=lambda p: (p[1], p[0]))) for peer in sorted(ports)]


def _rule(direction: str, peers: list[dict[str, Any]], ports: list[tuple[str, int]]) -> dict[str, Any]:
    return {direction: peers, "ports": [{"port": port, "protocol": protocol} for protocol, port in ports]}


def _peer(resolved: Resolved, name: str, workload_names: set[str]) -> list[dict[str, Any]]:
    if name in workload_names:
        return [{"podSelector": {"matchLabels": pod_labels(name)}}]
    if name == DNS:
        return [DNS_PEER]
    blocks = peer_blocks(resolved, name)
    if not blocks:  # the catalog test keeps every peer addressable; this guards the compiler
        raise AssertionError(f"peer {name!r} has no addresses")
    return [{"ipBlock": {"cidr": b.cidr, **({"except": list(b.excepted)} if b.excepted else {})}} for b in blocks]
