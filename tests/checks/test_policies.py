"""The synth-time NetworkPolicy checks: clean on the compiled output, and each rule can fail.

Cases live in tests/targets/cases/policies: `valid.yaml` passes every rule; each file in
`broken/` replaces or adds documents of it (matched by kind and name) and must fail exactly
the rule its name starts with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.checks.policies import INTERNET_PEERS, RULES, check_policies, matches
from engine.graph import Flow, intended_flows
from engine.targets.policies import compile_policies
from tests.support import EXAMPLES, ROOT, rendered, resolved_env

CASES = ROOT / "tests" / "targets" / "cases" / "policies"
BROKEN = sorted((CASES / "broken").glob("*.yaml"))

# The intended graph of valid.yaml.
FLOWS = (
    Flow("load-balancer", "kong", 8000, "TCP", "public API"),
    Flow("kong", "auth", 9999, "TCP", "/auth/v1"),
    Flow("kong", "dns", 53, "UDP", "names"),
    Flow("kong", "dns", 53, "TCP", "names"),
    Flow("auth", "dns", 53, "UDP", "names"),
    Flow("auth", "dns", 53, "TCP", "names"),
    Flow("auth", "smtp", 587, "TCP", "mail"),
)


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def case(path: Path) -> list[dict[str, Any]]:
    """valid.yaml with the documents of `path` replacing (by kind and name) or added to it."""
    def key(obj: dict[str, Any]) -> tuple[str, str]:
        return obj["kind"], obj["metadata"]["name"]

    changes = {key(obj): obj for obj in load(path)}
    base = [changes.pop(key(obj), obj) for obj in load(CASES / "valid.yaml")]
    return [*base, *changes.values()]


def test_valid_case_passes() -> None:
    assert check_policies(load(CASES / "valid.yaml"), FLOWS) == []


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_each_broken_case_fails_its_rule_only(path: Path) -> None:
    rule = path.stem.split("__")[0]
    findings = check_policies(case(path), FLOWS)
    assert findings, f"{path.name} passed"
    assert {f.rule for f in findings} == {rule}, [f.render() for f in findings]


def test_every_rule_has_a_broken_case() -> None:
    assert {p.stem.split("__")[0] for p in BROKEN} == {rule.id for rule in RULES}
    assert len({rule.id for rule in RULES}) == len(RULES)
    assert all(rule.description and rule.source for rule in RULES)


@pytest.mark.parametrize("env", EXAMPLES)
def test_compiled_policies_pass(env: str) -> None:
    assert check_policies(list(rendered(env)), intended_flows(resolved_env(env))) == []


def test_every_justified_internet_rule_is_one_the_compiler_writes() -> None:
    """The allow-list stays as small as the compiler's output: no stale entries."""
    written = set()
    for env in EXAMPLES:
        for policy in compile_policies(resolved_env(env)):
            for rule in policy["spec"].get("egress", []):
                if any(peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for peer in rule["to"]):
                    written |= {(policy["metadata"]["name"], p["port"]) for p in rule["ports"]}
    assert written <= set(INTERNET_PEERS)
    assert {name for name, _ in INTERNET_PEERS} == {name for name, _ in written}


def test_label_selector_semantics() -> None:
    labels = {"app": "kong", "tier": "edge"}
    assert matches({}, labels)
    assert not matches(None, labels)
    assert matches({"matchLabels": {"app": "kong"}}, labels)
    assert not matches({"matchLabels": {"app": "auth"}}, labels)
    assert matches({"matchExpressions": [{"key": "app", "operator": "In", "values": ["kong", "auth"]}]}, labels)
    assert not matches({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["kong"]}]}, labels)
    assert matches({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, labels)
    assert not matches({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, labels)
