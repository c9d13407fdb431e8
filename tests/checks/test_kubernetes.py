"""The Kubernetes invariants: each rule fails on a hand-broken manifest and passes on a good one.

Cases live in tests/checks/cases/kubernetes/ as multi-document manifests named
`<RULE>__<what is broken>.yaml`; `valid.yaml` is the same workload done right.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.catalog import registry_of
from engine.checks.kubernetes import RULES, check_manifests, image_problem, secret_like_literal

CASES = Path(__file__).parent / "cases" / "kubernetes"
REGISTRIES = ("public.ecr.aws",)
BROKEN = sorted(p for p in CASES.glob("*.yaml") if "__" in p.name)


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def test_valid_case_has_no_findings() -> None:
    assert check_manifests(load(CASES / "valid.yaml"), registries=REGISTRIES) == []


@pytest.mark.parametrize("case", BROKEN, ids=lambda p: p.stem)
def test_broken_case_is_caught(case: Path) -> None:
    rule = case.stem.split("__")[0]
    findings = check_manifests(load(case), registries=REGISTRIES)
    assert rule in {f.rule for f in findings}, [f.render() for f in findings]


def test_every_rule_has_a_failing_case() -> None:
    assert {p.stem.split("__")[0] for p in BROKEN} == {rule.id for rule in RULES}
    assert len({rule.id for rule in RULES}) == len(RULES)
    assert all(rule.description and rule.source for rule in RULES)


def test_namespace_labels_can_come_from_outside() -> None:
    docs = [d for d in load(CASES / "valid.yaml") if d["kind"] != "Namespace"]
    assert {f.rule for f in check_manifests(docs, registries=REGISTRIES)} == {"K8S-NS-PSS"}
    labels = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    assert check_manifests(docs, registries=REGISTRIES, namespace_labels={"app": labels}) == []


@pytest.mark.parametrize(("image", "registry"), [
    ("kong:2.8.1", "docker.io"),
    ("supabase/gotrue:v2", "docker.io"),
    ("public.ecr.aws/supabase/gotrue:v2", "public.ecr.aws"),
    ("registry.local:5000/x:v1", "registry.local:5000"),
    ("localhost/x:v1", "localhost"),
])
def test_registry_of(image: str, registry: str) -> None:
    assert registry_of(image) == registry


def test_image_pins() -> None:
    assert image_problem("kong:2.8.1", ("docker.io",)) is None
    assert image_problem("kong", ("docker.io",)) == "image kong has no tag"
    assert image_problem("public.ecr.aws/a/b:v1@sha256:" + "a" * 64, REGISTRIES) is None


@pytest.mark.parametrize(("name", "value", "flagged"), [
    ("DB_PASSWORD", "hunter2", True),
    ("GOTRUE_JWT_SECRET", "abc.def", True),
    ("SUPABASE_ANON_KEY", "eyJhbGciOi", True),
    ("PGRST_JWT_SECRET_IS_BASE64", "false", False),
    ("DB_ENC_KEY", "$(OTHER)", False),
    ("KONG_DATABASE", "off", False),
    ("GOTRUE_DB_DATABASE_URL", "postgres://u:$(DB_PASSWORD)@h/d", False),
    ("KEYCLOAK_URL", "https://example.com", False),
])
def test_secret_like_literal(name: str, value: str, flagged: bool) -> None:
    assert secret_like_literal(name, value) is flagged
