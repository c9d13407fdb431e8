"""Invariants over the rendered NetworkPolicies, checked at every synth without an analyser.

The connectivity test (network-config-analyzer) proves the exact graph but is too slow for every
synth; these pure rules catch the mistakes that matter most and name the policy or workload.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.checks.findings import Finding, Rule, run_rules
from engine.checks.kubernetes import Manifest, pod_spec, resource_id
from engine.graph import DNS, NON_PUBLIC, Flow

# (policy, port) -> why that policy may reach public addresses on that port. The compiler writes
# the reason next to the rule too (engine.catalog.PEERS); this is the check's own copy, so a new
# internet-wide rule fails here until someone justifies it.
INTERNET_PEERS: Mapping[tuple[str, int], str] = {
    ("allow-storage", 443): "S3 via the gateway endpoint has only public addresses (a prefix list policies cannot "
                            "name); STS over NAT when there is no sts endpoint",
    ("allow-imgproxy", 443): "imgproxy fetches source images from presigned S3 URLs (same S3 prefixes)",
    ("allow-auth", 587): "the SMTP server is an external host name (submission port)",
    ("allow-auth", 465): "the SMTP server is an external host name (implicit TLS port)",
    ("allow-auth", 443): "sign-in providers, the SMS provider and email template hosts are public names",
}
BROAD_ANNOTATION = "supa-engine.io/broad-peer-"
NAME_LABEL = "app.kubernetes.io/name"
DNS_NAMESPACE = {"kubernetes.io/metadata.name": "kube-system"}
DNS_PODS = {"k8s-app": "kube-dns"}
_NON_PUBLIC = [ipaddress.IPv4Network(n) for n in NON_PUBLIC]


def check_policies(manifests: Sequence[Manifest], flows: Sequence[Flow] = ()) -> list[Finding]:
    """Every rule over `manifests`; `flows` (engine.graph.intended_flows) enables NP-INGRESS/NP-EGRESS."""
    policies = [m for m in manifests if m.get("kind") == "NetworkPolicy"]
    return run_rules(RULES, Policies(policies, _workloads(manifests), flows))


# ------------------------------------------------------------------------------------ helpers


Workload = tuple[str, str, Mapping[str, str]]  # (resource id, namespace, pod labels)


@dataclass(frozen=True)
class Policies:
    """What the rules read: the NetworkPolicies, the workloads they select, the intended flows."""

    policies: Sequence[Manifest]
    pods: Sequence[Workload]
    flows: Sequence[Flow]


def _workloads(manifests: Sequence[Manifest]) -> list[Workload]:
    found = []
    for obj in manifests:
        if pod_spec(obj) is None:
            continue
        spec = obj.get("spec") or {}
        if obj.get("kind") == "CronJob":
            spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        labels = obj.get("metadata", {}).get("labels") if obj.get("kind") == "Pod" else \
            ((spec.get("template") or {}).get("metadata") or {}).get("labels")
        found.append((resource_id(obj), str((obj.get("metadata") or {}).get("namespace")), labels or {}))
    return found


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics; `{}` selects everything, a missing selector nothing."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        present = key in labels
        if not {"In": present and labels.get(key) in values, "NotIn": not present or labels.get(key) not in values,
                "Exists": present, "DoesNotExist": not present}.get(operator, False):
            return False
    return True


def _name(policy: Manifest) -> str:
    return str((policy.get("metadata") or {}).get("name"))


def _namespace(obj: Manifest) -> str:
    return str((obj.get("metadata") or {}).get("namespace"))


def _selecting(policies: Sequence[Manifest], workload: Workload, direction: str) -> Iterator[Manifest]:
    _, namespace, labels = workload
    for policy in policies:
        spec = policy.get("spec") or {}
        if (_namespace(policy) == namespace and direction in (spec.get("policyTypes") or [])
                and matches(spec.get("podSelector"), labels)):
            yield policy


def _rules(policy: Manifest, direction: str) -> list[Mapping[str, Any]]:
    rules: list[Mapping[str, Any]] = (policy.get("spec") or {}).get(direction.lower()) or []
    return rules


def _peers(rule: Mapping[str, Any], direction: str) -> list[Mapping[str, Any]]:
    peers: list[Mapping[str, Any]] = rule.get("from" if direction == "Ingress" else "to") or []
    return peers


def _ports(rule: Mapping[str, Any]) -> set[tuple[str, int]]:
    ports = rule.get("ports") or []
    return {(str(p.get("protocol", "TCP")), p["port"]) for p in ports if isinstance(p.get("port"), int)}


def _allows_port(rule: Mapping[str, Any], wanted: tuple[str, int]) -> bool:
    return not rule.get("ports") or wanted in _ports(rule)  # no ports: all of them (NP-PORTS flags it)


def _label(workload: Workload) -> str:
    return str(workload[2].get(NAME_LABEL, workload[0]))


# ------------------------------------------------------------------------------------ rules


def default_deny(view: Policies) -> Iterator[Finding]:
    for namespace in sorted({w[1] for w in view.pods}):
        if not any(_namespace(p) == namespace and (p.get("spec") or {}).get("podSelector") in ({}, {"matchLabels": {}})
                   and {"Ingress", "Egress"} <= set((p.get("spec") or {}).get("policyTypes") or [])
                   and not _rules(p, "Ingress") and not _rules(p, "Egress") for p in view.policies):
            yield Finding("NP-DEFAULT-DENY", f"Namespace/-/{namespace}",
                          "no policy denies all ingress and egress for every pod")


def _is_dns(peer: Mapping[str, Any]) -> bool:
    return ("ipBlock" not in peer and peer.get("namespaceSelector") is not None
            and all(peer["namespaceSelector"].get("matchLabels", {}).get(k) == v for k, v in DNS_NAMESPACE.items())
            and all((peer.get("podSelector") or {}).get("matchLabels", {}).get(k) == v for k, v in DNS_PODS.items()))


def dns(view: Policies) -> Iterator[Finding]:
    for workload in view.pods:
        protocols = {protocol for policy in _selecting(view.policies, workload, "Egress")
                     for rule in _rules(policy, "Egress") if any(_is_dns(p) for p in _peers(rule, "Egress"))
                     for protocol, port in _ports(rule) if port == 53}
        if not {"UDP", "TCP"} <= protocols:
            yield Finding("NP-DNS", workload[0], "no egress to CoreDNS (kube-system, k8s-app=kube-dns) on 53 UDP and "
                          f"TCP (allowed: {sorted(protocols) or 'none'})")


def ingress(view: Policies) -> Iterator[Finding]:
    return _flows(view, "Ingress")


def egress(view: Policies) -> Iterator[Finding]:
    return _flows(view, "Egress")


def _flows(view: Policies, direction: str) -> Iterator[Finding]:
    by_name = {_label(w): w for w in view.pods}
    for flow in view.flows:
        if flow.server == DNS:
            continue  # NP-DNS
        wanted = (flow.protocol, flow.port)
        own, other = (flow.server, flow.client) if direction == "Ingress" else (flow.client, flow.server)
        if own not in by_name:
            continue
        peer_workload = by_name.get(other)
        rules = [rule for policy in _selecting(view.policies, by_name[own], direction)
                 for rule in _rules(policy, direction)]
        if not any(_allows_port(rule, wanted) and any(_peer_admits(peer, peer_workload)
                                                      for peer in _peers(rule, direction)) for rule in rules):
            rule = "NP-INGRESS" if direction == "Ingress" else "NP-EGRESS"
            yield Finding(rule, by_name[own][0], f"intended flow {flow.client} -> {flow.server} "
                          f"{flow.protocol}/{flow.port} is not allowed by any policy selecting {own}")


def _peer_admits(peer: Mapping[str, Any], workload: Workload | None) -> bool:
    """Pod peers match by label selector; an end that is not a workload (load balancer, database, S3,
    SMTP, AWS APIs) matches any ipBlock peer, since its exact ranges are the analyser's job."""
    if workload is None:  # a peer outside the namespace's workloads: selected by address
        return "ipBlock" in peer
    if "ipBlock" in peer or "namespaceSelector" in peer:  # pods of the same namespace only
        return False
    return matches(peer.get("podSelector"), workload[2])


def broad(view: Policies) -> Iterator[Finding]:
    for policy in view.policies:
        for direction in ("Ingress", "Egress"):
            for index, rule in enumerate(_rules(policy, direction)):
                where = f"{direction.lower()}[{index}]"
                for problem in _broad_rule(policy, direction, rule):
                    yield Finding("NP-BROAD", resource_id(policy), f"{where}{problem}")


def _broad_rule(policy: Manifest, direction: str, rule: Mapping[str, Any]) -> Iterator[str]:
    peers = _peers(rule, direction)
    if not peers:
        yield f" has no {'from' if direction == 'Ingress' else 'to'}: it allows every peer"
    annotations = (policy.get("metadata") or {}).get("annotations") or {}
    for peer in peers:
        problem = _broad_peer(peer)
        if problem:
            yield f": {problem}"
            continue
        if not _reaches_public(peer):
            continue
        ports = sorted(port for _, port in _ports(rule)) or [0]
        unjustified = [p for p in ports if direction == "Ingress" or (_name(policy), p) not in INTERNET_PEERS]
        if unjustified:
            yield (f": {peer['ipBlock'].get('cidr')} reaches public addresses on {unjustified} "
                   "without a justification in INTERNET_PEERS")
        elif not any(k.startswith(BROAD_ANNOTATION) for k in annotations):
            yield f": public addresses are allowed but the policy states no reason ({BROAD_ANNOTATION}<peer>)"


def _broad_peer(peer: Mapping[str, Any]) -> str | None:
    if not peer:
        return "an empty peer allows everything"
    if peer.get("namespaceSelector") == {} or peer.get("namespaceSelector") == {"matchLabels": {}}:
        return "namespaceSelector {} selects every namespace"
    if "namespaceSelector" not in peer and peer.get("podSelector") in ({}, {"matchLabels": {}}):
        return "podSelector {} selects every pod of the namespace"
    block = peer.get("ipBlock")
    if block is not None and ipaddress.IPv4Network(block.get("cidr", "0.0.0.0/0")).prefixlen == 0 \
            and not block.get("except"):
        return "0.0.0.0/0 without except allows every address"
    return None


def _reaches_public(peer: Mapping[str, Any]) -> bool:
    block = peer.get("ipBlock")
    if block is None:
        return False
    remaining = [ipaddress.IPv4Network(block.get("cidr", "0.0.0.0/0"))]
    for excluded in [*map(ipaddress.IPv4Network, block.get("except") or []), *_NON_PUBLIC]:
        remaining = [piece for net in remaining for piece in (
            net.address_exclude(excluded) if excluded.subnet_of(net) and excluded != net
            else [] if net.subnet_of(excluded) else [net])]
    return bool(remaining)


def ports_named(view: Policies) -> Iterator[Finding]:
    for policy in view.policies:
        for direction in ("Ingress", "Egress"):
            for index, rule in enumerate(_rules(policy, direction)):
                if not rule.get("ports") or any("port" not in p for p in rule["ports"]):
                    yield Finding("NP-PORTS", resource_id(policy),
                                  f"{direction.lower()}[{index}] does not name its ports: it allows all of them")


RULES: tuple[Rule[Policies], ...] = (
    Rule("NP-DEFAULT-DENY", "each namespace with workloads has a policy selecting all its pods for ingress and "
         "egress that allows nothing", "default deny + allow list (CKV2_K8S_6, CIS 4.3)", default_deny),
    Rule("NP-DNS", "every workload may resolve names: egress to CoreDNS (kube-system, k8s-app=kube-dns) on 53 "
         "over UDP and TCP", "Supabase service graph: every pod -> DNS 53", dns),
    Rule("NP-INGRESS", "for every intended flow into a workload, a policy selecting it admits the client on the "
         "flow's port", "default deny + allow list (CKV2_K8S_6, CIS 4.3)", ingress),
    Rule("NP-EGRESS", "for every intended flow out of a workload, a policy selecting it lets it out to the server "
         "on the flow's port", "default deny + allow list (CKV2_K8S_6, CIS 4.3)", egress),
    Rule("NP-BROAD", "no rule allows every peer (no missing or empty from/to, no empty or select-all peer, no "
         "0.0.0.0/0 without except); public addresses only where INTERNET_PEERS and an annotation justify them",
         "default deny + allow list (CKV2_K8S_6, CIS 4.3)", broad),
    Rule("NP-PORTS", "every allow rule names its ports", "default deny + allow list (CKV2_K8S_6, CIS 4.3)",
         ports_named),
)
