"""The Terraform rules: every rule passes the good multi-stack fixture and fails on each
hand-broken variant in cases/mutations.json, naming its rule id and the resource address."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from engine.checks import Finding
from engine.checks.terraform import RULES, check_terraform

CASES = Path(__file__).parent / "cases"
TABLE = json.loads((CASES / "mutations.json").read_text())
RULE_IDS = [rule.id for rule in RULES]

Stacks = dict[str, Any]


def good() -> Stacks:
    return {path.stem: json.loads(path.read_text()) for path in sorted((CASES / "good").glob("*.json"))}


def _walk(doc: Stacks, pointer: str) -> tuple[Any, str]:
    """The container of the last pointer segment, creating objects along the way."""
    *parents, last = pointer.lstrip("/").split("/")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    return node, last


def mutate(stacks: Stacks, case: dict[str, Any]) -> Stacks:
    changed = copy.deepcopy(stacks)
    for pointer, value in case.get("set", {}).items():
        node, last = _walk(changed, pointer)
        if isinstance(node, list):
            if last == "-":
                node.append(value)
            else:
                node[int(last)] = value
        else:
            node[last] = value
    for pointer in case.get("remove", []):
        node, last = _walk(changed, pointer)
        del node[int(last) if isinstance(node, list) else last]
    return changed


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [f"{case.get('rule', 'ok')}-{case['why']}".replace(" ", "_") for case in cases]


# --- the good fixture and its variants pass --------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_rule_passes_on_good_fixture(rule: Any) -> None:
    assert check_terraform(good(), (rule,)) == []


@pytest.mark.parametrize("case", TABLE["passing"], ids=_ids(TABLE["passing"]))
def test_equivalent_spellings_pass(case: dict[str, Any]) -> None:
    findings = check_terraform(mutate(good(), case))
    assert findings == [], "\n".join(f.render() for f in findings)


# --- every hand-broken variant fails with the right rule and address --------------------------


@pytest.mark.parametrize("case", TABLE["mutations"], ids=_ids(TABLE["mutations"]))
def test_mutation_is_found(case: dict[str, Any]) -> None:
    findings = check_terraform(mutate(good(), case))
    hits = [f for f in findings if (f.rule, f.subject) == (case["rule"], case["at"])]
    assert hits, f"expected {case['rule']} at {case['at']}, got:\n" + "\n".join(f.render() for f in findings)
    allowed = {case["rule"], *case.get("also", [])}
    stray = [f.render() for f in findings if f.rule not in allowed]
    assert not stray, f"unexpected findings: {stray}"


def test_every_rule_has_mutations_that_prove_it_can_fail() -> None:
    covered = {case["rule"] for case in TABLE["mutations"]}
    assert covered == set(RULE_IDS)


# --- registry and API -----------------------------------------------------------------------


def test_rules_registry_is_complete_and_unique() -> None:
    assert len(set(RULE_IDS)) == len(RULE_IDS)
    for rule in RULES:
        assert rule.id.isupper() and rule.description and rule.source
        assert rule.check.__doc__, f"{rule.id} must say why it exists"


def test_findings_are_frozen_sorted_and_deduplicated() -> None:
    case = {"remove": ["/data/resource/aws_secretsmanager_secret/app_secret/kms_key_id",
                       "/data/resource/aws_vpc_security_group_ingress_rule/db_in/description"]}
    findings = check_terraform(mutate(good(), case))
    assert findings == sorted(findings, key=lambda f: (f.rule, f.subject, f.message))
    assert len(findings) == len(set(findings)) == 2
    with pytest.raises(AttributeError):
        findings[0].rule = "X"  # type: ignore[misc]
    assert findings[0].render().startswith("SECRETS_CMK data/aws_secretsmanager_secret.app_secret: ")


def test_empty_environment_has_no_findings() -> None:
    assert check_terraform({}) == []
    assert check_terraform({"empty": {}}) == []


# --- cross-stack resolution -------------------------------------------------------------------


def test_producer_found_by_backend_key_when_input_name_differs() -> None:
    stacks = good()
    text = json.dumps(stacks["cluster"])
    text = text.replace("cross-stack-reference-input-network", "cross-stack-reference-input-net")
    stacks["cluster"] = json.loads(text)
    assert check_terraform(stacks) == []


def test_absent_producer_accepts_kms_outputs_by_name_but_not_subnets() -> None:
    findings = check_terraform({"cluster": good()["cluster"]})
    rules = {f.rule for f in findings}
    assert "EKS_ACCESS" not in rules and "FLOW_LOGS" not in rules  # key ARNs judged by output name
    assert {(f.rule, f.subject) for f in findings} == {("NODES_PRIVATE", "cluster/aws_eks_node_group.system_nodes")}


def test_finding_type_is_exported() -> None:
    assert Finding("R", "s/a.b", "m").render() == "R s/a.b: m"
