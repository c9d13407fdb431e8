"""The NetworkPolicies allow exactly the intended graph, proven by a connectivity analyser.

network-config-analyzer (`nca`, offline: policies and workloads from files) computes every flow
the rendered NetworkPolicies allow. Its `dot` output with `--output_endpoints pods` is the
parseable one: one line per allowed (source, destination) pair, never aggregated into rules
(`txt`/`csv`/`yaml` print minimised firewall rules whose `[*]` hides which pairs are meant).
Each Deployment is given two replicas so that flows between pods of one workload (realtime's
clustering) appear as `realtime-1 -> realtime-2`; nca names pods `<workload>-<n>`, the CoreDNS
pods it adds for a kube-dns selector `kube-system/kube-dns-livesim`, and address ranges as CIDRs
or `first-last`. Edge labels read `TCP 80,8100`, `TCP+UDP 53` or `All connections`.

Both sides are reduced to facts `(source, destination, protocol/port)`, where an address side
is the union of every range a workload may reach (or be reached from) on that port, written as
collapsed CIDRs. The test asserts the two sets are equal and names every missing or extra flow.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from engine.config.overlay import Merged
from engine.config.validate import validate
from engine.graph import DNS, Flow, intended_flows, peer_blocks, workloads
from engine.resolve import Resolved, resolve
from engine.targets.policies import BROAD_ANNOTATION, DEFAULT_DENY, NAMESPACE, compile_policies, policy_name
from tests.strategies import configs
from tests.support import EXAMPLES, render_objects, rendered, resolved_env

CASES = Path(__file__).parent / "cases" / "policies"
NCA_EXAMPLES = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 3
POD_KINDS = ("Deployment", "Job")

Fact = tuple[str, str, str]  # (source, destination, "TCP/8000"); an address side is "cidr,cidr,..."
Network = ipaddress.IPv4Network


# ------------------------------------------------------------------------------------ nca


def nca_workloads(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pod-bearing objects, each Deployment with two replicas (see the module docstring)."""
    pods = [copy.deepcopy(o) for o in objects if o["kind"] in POD_KINDS]
    for obj in pods:
        if obj["kind"] == "Deployment":
            obj["spec"]["replicas"] = 2
    return pods


def run_nca(policies: Sequence[dict[str, Any]], pods: Sequence[dict[str, Any]], tmp: Path) -> str:
    """nca's connectivity map (dot) of `policies` over `pods`."""
    (tmp / "policies.yaml").write_text(yaml.safe_dump_all(policies), encoding="utf-8")
    (tmp / "workloads.yaml").write_text(yaml.safe_dump_all(pods), encoding="utf-8")
    nca = Path(sys.executable).parent / "nca"
    result = subprocess.run(
        [str(nca), "--connectivity", str(tmp / "policies.yaml"), "-r", str(tmp / "workloads.yaml"),
         "-o", "dot", "--output_endpoints", "pods"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    if "digraph" not in result.stdout:
        raise AssertionError(f"nca failed ({result.returncode}): {result.stdout[-2000:]} {result.stderr[-2000:]}")
    return result.stdout


_EDGE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[label="([^"]*)"')
_POD = re.compile(r"^(?P<ns>[a-z0-9-]+)/(?P<name>.+?)(-[0-9]+)?$")


def parse_dot(text: str) -> list[tuple[str, str, str]]:
    """(source, destination, label) of every edge line."""
    return [(m[1], m[2], m[3]) for line in text.splitlines() if (m := _EDGE.match(line))]


def connections(label: str) -> list[str]:
    """`TCP 80,8100` -> [TCP/80, TCP/8100]; `TCP+UDP 53` -> [TCP/53, UDP/53]; `All connections` -> [ALL]."""
    if label.strip() == "All connections":
        return ["ALL"]
    tokens: list[str] = []
    protocols: list[str] = []
    for part in (p.strip() for p in label.split(",")):
        words = part.split()
        if words and not words[0][0].isdigit():
            protocols = words[0].split("+")
            words = words[1:]
        if not protocols:
            raise AssertionError(f"unparseable nca label {label!r}")
        tokens += [f"{p}/{words[0] if words else '*'}" for p in protocols]
    return tokens


def _address(node: str) -> list[Network] | None:
    if not re.match(r"^[0-9.]+([/-][0-9.]+)?$", node):
        return None
    if "-" in node:
        first, last = node.split("-")
        return list(ipaddress.summarize_address_range(ipaddress.IPv4Address(first), ipaddress.IPv4Address(last)))
    return [ipaddress.IPv4Network(node)]


def _endpoint(node: str) -> str:
    if node == "kube-system/kube-dns-livesim":
        return DNS
    match = _POD.match(node)
    if not match:
        raise AssertionError(f"unexpected nca endpoint {node!r}")
    return match["name"] if match["ns"] == NAMESPACE else node


def _cidrs(networks: Iterable[Network]) -> str:
    return ",".join(str(n) for n in ipaddress.collapse_addresses(networks))


def _facts(named: set[Fact], ranges: dict[tuple[str, str, str], list[Network]]) -> set[Fact]:
    """Named facts plus one fact per (workload, direction, connection) with its ranges united."""
    facts = set(named)
    for (direction, workload, conn), networks in ranges.items():
        side = _cidrs(networks)
        facts.add((workload, side, conn) if direction == "to" else (side, workload, conn))
    return facts


def observed(dot: str) -> set[Fact]:
    """What nca says is allowed, for flows that start or end in the namespace."""
    named: set[Fact] = set()
    ranges: dict[tuple[str, str, str], list[Network]] = defaultdict(list)
    for src, dst, label in parse_dot(dot):
        if not (src.startswith(f"{NAMESPACE}/") or dst.startswith(f"{NAMESPACE}/")):
            continue  # kube-system's own traffic: not governed by these policies
        for conn in connections(label):
            src_net, dst_net = _address(src), _address(dst)
            if dst_net is not None:
                ranges["to", _endpoint(src), conn] += dst_net
            elif src_net is not None:
                ranges["from", _endpoint(dst), conn] += src_net
            else:
                named.add((_endpoint(src), _endpoint(dst), conn))
    return _facts(named, ranges)


def expected(resolved: Resolved, flows: Iterable[Flow]) -> tuple[set[Fact], dict[str, str]]:
    """The facts of the intended flows, and a readable name for each address side."""
    named: set[Fact] = set()
    ranges: dict[tuple[str, str, str], list[Network]] = defaultdict(list)
    peers: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for flow in flows:
        conn = f"{flow.protocol}/{flow.port}"
        client, server = _networks(resolved, flow.client), _networks(resolved, flow.server)
        if server is not None:
            ranges["to", flow.client, conn] += server
            peers["to", flow.client, conn].append(flow.server)
        elif client is not None:
            ranges["from", flow.server, conn] += client
            peers["from", flow.server, conn].append(flow.client)
        else:
            named.add((flow.client, flow.server, conn))
    names = {_cidrs(ranges[key]): "+".join(sorted(set(peers[key]))) for key in ranges}
    return _facts(named, ranges), names


def _networks(resolved: Resolved, peer: str) -> list[Network] | None:
    blocks = peer_blocks(resolved, peer)
    if not blocks:
        return None
    networks: list[Network] = []
    for block in blocks:
        remaining = [ipaddress.IPv4Network(block.cidr)]
        for excluded in map(ipaddress.IPv4Network, block.excepted):
            remaining = [piece for net in remaining
                         for piece in (net.address_exclude(excluded) if excluded.subnet_of(net) else [net])]
        networks += remaining
    return networks


def differences(resolved: Resolved, policies: Sequence[dict[str, Any]], pods: Sequence[dict[str, Any]],
                tmp: Path) -> tuple[list[str], list[str]]:
    """(missing, extra) flows, each as `client -> server protocol/port`, comparing nca with the graph."""
    want, names = expected(resolved, intended_flows(resolved))
    got = observed(run_nca(policies, pods, tmp))

    def show(fact: Fact) -> str:
        return f"{names.get(fact[0], fact[0])} -> {names.get(fact[1], fact[1])} {fact[2]}"

    return sorted(map(show, want - got)), sorted(map(show, got - want))


def policies_of(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == "NetworkPolicy"]


# ------------------------------------------------------------------------------------ the proof


@pytest.mark.slow
@pytest.mark.parametrize("env", EXAMPLES)
def test_policies_allow_exactly_the_intended_graph(env: str, tmp_path: Path) -> None:
    objects = rendered(env)
    started = time.monotonic()
    missing, extra = differences(resolved_env(env), policies_of(objects), nca_workloads(objects), tmp_path)
    print(f"nca {env}: {time.monotonic() - started:.1f}s")
    assert (missing, extra) == ([], []), f"missing: {missing}\nextra: {extra}"


@pytest.mark.slow
@settings(max_examples=NCA_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])
@given(tree=configs())
def test_every_accepted_config_allows_exactly_its_graph(tree: dict[str, Any], tmp_path: Path) -> None:
    resolved = resolve(validate(Merged(entry="generated.yaml", files=("generated.yaml",), tree=tree, origins={})))
    objects = render_objects(resolved)
    missing, extra = differences(resolved, policies_of(objects), nca_workloads(objects), tmp_path)
    assert (missing, extra) == ([], []), f"missing: {missing}\nextra: {extra}"


@pytest.mark.slow
def test_an_extra_allow_is_reported_by_name(tmp_path: Path) -> None:
    resolved = resolved_env("prod")
    selector = {"matchLabels": {"app.kubernetes.io/name": "rest"}}
    leak = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "leak", "namespace": NAMESPACE},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": [{"from": [{"podSelector": selector}], "ports": [{"port": 9999, "protocol": "TCP"}]}],
                     "egress": [{"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "auth"}}}],
                                 "ports": [{"port": 9999, "protocol": "TCP"}]}]}}
    missing, extra = differences(resolved, [*compile_policies(resolved), leak], nca_workloads(rendered("prod")),
                                 tmp_path)
    assert (missing, extra) == ([], ["rest -> auth TCP/9999"])


@pytest.mark.slow
def test_an_allow_all_policy_is_reported(tmp_path: Path) -> None:
    resolved = resolved_env("prod")
    allow_all = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": "allow-all", "namespace": NAMESPACE},
                 "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}], "egress": [{}]}}
    missing, extra = differences(resolved, [*compile_policies(resolved), allow_all], nca_workloads(rendered("prod")),
                                 tmp_path)
    # Once everything is open nca labels each pair `All connections`, so the specific ports also
    # show as missing; what matters is that the widened flows are named.
    assert {"rest -> auth ALL", "kong -> kong ALL", "studio -> 0.0.0.0/0 ALL"} <= set(extra)
    assert "kong -> auth TCP/9999" in missing


@pytest.mark.slow
def test_a_dropped_edge_is_reported_by_name(tmp_path: Path) -> None:
    resolved = resolved_env("prod")
    policies = compile_policies(resolved)
    kong = next(p for p in policies if p["metadata"]["name"] == policy_name("kong"))
    kong["spec"]["egress"] = [r for r in kong["spec"]["egress"]
                              if r["to"][0].get("podSelector", {}).get("matchLabels", {}).get(
                                  "app.kubernetes.io/name") != "auth"]
    missing, extra = differences(resolved, policies, nca_workloads(rendered("prod")), tmp_path)
    assert (missing, extra) == (["kong -> auth TCP/9999"], [])


def test_dot_parsing() -> None:
    dot = '''digraph {
\t"10.0.0.0-10.0.1.255" -> "supabase/kong-1" [label="TCP 8000,8100" color="gold2"]
\t"supabase/realtime-1" -> "supabase/realtime-2" [label="TCP 4369,5369,9100" color="gold2"]
\t"supabase/auth-2" -> "kube-system/kube-dns-livesim" [label="TCP+UDP 53" color="gold2"]
\t"kube-system/kube-dns-livesim" -> "0.0.0.0/0" [label="All connections" color="gold2"]
}'''
    assert observed(dot) == {
        ("10.0.0.0/23", "kong", "TCP/8000"), ("10.0.0.0/23", "kong", "TCP/8100"),
        ("realtime", "realtime", "TCP/4369"), ("realtime", "realtime", "TCP/5369"),
        ("realtime", "realtime", "TCP/9100"), ("auth", "dns", "TCP/53"), ("auth", "dns", "UDP/53"),
    }


# ------------------------------------------------------------------------------------ the compiler


def test_compile_is_deterministic_and_matches_the_golden_copy() -> None:
    """`tests/targets/cases/policies/prod.yaml` is the reviewed prod output; regenerate it with
    `python -c 'from tests.targets.test_policies import write_golden; write_golden()'` and review the diff."""
    policies = compile_policies(resolved_env("prod"))
    assert json.dumps(policies) == json.dumps(compile_policies(resolved_env("prod")))
    assert yaml.safe_dump_all(policies, sort_keys=False) == (CASES / "prod.yaml").read_text(encoding="utf-8")


def write_golden() -> None:
    (CASES / "prod.yaml").write_text(yaml.safe_dump_all(compile_policies(resolved_env("prod")), sort_keys=False),
                                     encoding="utf-8")


@pytest.mark.parametrize("env", EXAMPLES)
def test_the_chart_renders_exactly_the_compiled_policies(env: str) -> None:
    compiled = compile_policies(resolved_env(env))
    rendered_policies = policies_of(rendered(env))
    assert [p["metadata"]["name"] for p in rendered_policies] == sorted(p["metadata"]["name"] for p in compiled)
    by_name = {p["metadata"]["name"]: p for p in rendered_policies}
    for policy in compiled:
        twin = by_name[policy["metadata"]["name"]]
        assert twin["spec"] == policy["spec"]
        assert twin["metadata"].get("annotations", {}) == policy["metadata"].get("annotations", {})
        assert twin["metadata"]["namespace"] == NAMESPACE


@pytest.mark.parametrize("env", EXAMPLES)
def test_every_workload_has_a_policy_and_default_deny_comes_first(env: str) -> None:
    resolved = resolved_env(env)
    names = [p["metadata"]["name"] for p in compile_policies(resolved)]
    assert names == [DEFAULT_DENY, *(policy_name(w) for w in workloads(resolved))]
    pods = {o["metadata"]["name"] for o in rendered(env) if o["kind"] in POD_KINDS}
    assert pods == set(workloads(resolved))


def _with(env: str, **changes: Any) -> Resolved:
    """The environment with settings replaced: `a__b=value` sets config.a.b (no re-validation)."""
    config = resolved_env(env).config
    for path, value in changes.items():
        config = _replace(config, path.split("__"), value)
    return resolve(config)


def _replace(model: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    return model.model_copy(update={path[0]: _replace(getattr(model, path[0]), path[1:], value)})


def _flows(resolved: Resolved) -> set[tuple[str, str, int]]:
    return {(f.client, f.server, f.port) for f in intended_flows(resolved)}


def test_studio_takes_traffic_only_when_operator_cidrs_are_listed() -> None:
    private = resolved_env("prod")
    assert not any(f.server == "studio" for f in intended_flows(private))
    studio = next(p for p in compile_policies(private) if p["metadata"]["name"] == policy_name("studio"))
    assert studio["spec"]["policyTypes"] == ["Egress"]
    public = _with("prod", security__studio__allowed_cidrs=("203.0.113.0/24",))
    assert ("kong", "studio", 3000) in _flows(public)
    assert not any(f.client == "load-balancer" and f.server == "studio" for f in intended_flows(public))


def test_realtime_clusters_only_with_more_than_one_replica() -> None:
    resolved = resolved_env("prod")
    assert {("realtime", "realtime", p) for p in (4369, 9100, 5369)} <= _flows(resolved)
    scaling = resolved.config.autoscaling.for_component("realtime")
    alone = _with("prod", autoscaling__realtime=scaling.model_copy(update={"min_replicas": 1, "max_replicas": 1}))
    assert not any(f.client == f.server for f in intended_flows(alone))


def test_smtp_egress_follows_the_configured_port_and_only_auth_gets_it() -> None:
    resolved = resolved_env("prod")
    smtp = resolved.config.supabase.auth.smtp
    assert smtp is not None
    assert {(f.client, f.port) for f in intended_flows(resolved) if f.server == "smtp"} == {("auth", smtp.port)}
    other = _with("prod", supabase__auth__smtp=smtp.model_copy(update={"port": 465}))
    assert {(f.client, f.port) for f in intended_flows(other) if f.server == "smtp"} == {("auth", 465)}
    silent = _with("prod", supabase__auth__smtp=None)
    assert not any(f.server == "smtp" for f in intended_flows(silent))


def test_sts_goes_to_the_private_subnets_only_with_an_sts_endpoint() -> None:
    resolved = resolved_env("prod")
    assert ("storage", "aws-api", 443) in _flows(resolved)
    without = _with("prod", network__interface_endpoints=("ecr.api", "ecr.dkr"))
    assert not any(f.server == "aws-api" for f in intended_flows(without))


def test_kong_is_reached_from_the_load_balancer_subnets_only() -> None:
    resolved = resolved_env("prod")
    kong = next(p for p in compile_policies(resolved) if p["metadata"]["name"] == policy_name("kong"))
    blocks = [peer["ipBlock"]["cidr"] for rule in kong["spec"]["ingress"] for peer in rule["from"] if "ipBlock" in peer]
    assert blocks == [zone.public for zone in resolved.subnets]


def test_internet_peers_carry_their_reason() -> None:
    for policy in compile_policies(resolved_env("prod")):
        broad = [peer for rule in policy["spec"].get("egress", []) for peer in rule["to"]
                 if peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0"]
        reasons = [k for k in policy["metadata"].get("annotations", {}) if k.startswith(BROAD_ANNOTATION)]
        assert bool(broad) == bool(reasons), policy["metadata"]["name"]
