"""The chart rendered with Helm's engine: lints clean, validates against the Kubernetes schemas,
passes checkov with only annotated skips, and satisfies the engine's own invariants, for the
example environments and for generated configs."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from kubernetes_validate import utils as kv

from engine.catalog import BY_NAME, COMPONENT_NAMES, DATABASE_LOGIN_ROLES, role_secret
from engine.checks import Finding
from engine.checks.checkov import scan_manifests
from engine.checks.kubernetes import check_manifests
from engine.config.model.env import credential_problem
from engine.config.overlay import Merged
from engine.config.validate import validate
from engine.render import RenderError, lint_chart, render_chart, render_manifests
from engine.resolve import Resolved, resolve
from engine.targets.helm import compile_values, derived_outputs
from tests.strategies import configs
from tests.support import ENVIRONMENTS, documents, kong_config, require_checkov, resolved_env
from tests.support import rendered_chart as rendered

# Custom resources of External Secrets: kubernetes-validate ships only the core API schemas.
CRD_KINDS = {"ExternalSecret", "ClusterSecretStore"}
ALLOWED_SKIPS = {"CKV_K8S_35", "CKV_K8S_43"}
RESTRICTED = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
PROPERTY_EXAMPLES = 20 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 5


def schema_problems(objects: list[dict[str, Any]], version: str) -> list[str]:
    problems = []
    for obj in objects:
        try:
            kv.validate(obj, version, strict=True)
        except kv.SchemaNotFoundError:
            if obj["kind"] not in CRD_KINDS:
                problems.append(f"{obj['kind']}: no schema")
        except kv.ValidationError as error:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message}")
    return problems


def invariants(resolved: Resolved, objects: list[dict[str, Any]]) -> list[Finding]:
    return check_manifests(objects, registries=resolved.config.security.image_registries,
                           namespace_labels={"supabase": RESTRICTED})


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_chart_lints_clean(env: str) -> None:
    resolved, values, _ = rendered(env)
    assert lint_chart(values, kube_version=resolved.config.cluster.kubernetes_version) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_manifests_match_kubernetes_schemas(env: str) -> None:
    resolved, _, text = rendered(env)
    assert schema_problems(documents(text), resolved.config.cluster.kubernetes_version) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_invariants_hold(env: str) -> None:
    resolved, _, text = rendered(env)
    assert invariants(resolved, documents(text)) == []


@pytest.mark.slow
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_checkov_passes_with_only_annotated_skips(env: str) -> None:
    require_checkov()
    _, _, text = rendered(env)
    report = scan_manifests(text)
    assert [f.render() for f in report.failed] == [] and report.parsing_errors == []
    assert report.passed > 0
    # Every skip checkov reports is one of the skip annotations, each stating its reason.
    skips = [value for obj in documents(text) for key, value in (obj["metadata"].get("annotations") or {}).items()
             if key.startswith("checkov.io/skip")]
    assert len(report.skipped) == len(skips)
    assert {s.split("=", 1)[0] for s in skips} <= ALLOWED_SKIPS
    assert all(len(s.split("=", 1)[1]) > 20 for s in skips), "every skip states its reason"


def test_digest_check_is_skipped_only_where_tag_pins_are_accepted() -> None:
    # prod.yaml accepts tag pins explicitly (security.accept_tag_only_images); without that a
    # production render keeps checkov's digest check, and an image without a digest fails it.
    resolved, values, text = rendered("prod")
    assert resolved.config.security.accept_tag_only_images and values["platform"]["tagOnlyImages"]
    assert "CKV_K8S_43=" in text
    strict = {**values, "platform": {**values["platform"], "tagOnlyImages": False}}
    strict_text = render_chart(strict, kube_version="1.34")
    assert "CKV_K8S_43" not in strict_text
    failed = {f.rule for f in scan_manifests(strict_text).failed}
    assert "CKV_K8S_43" in failed


def test_render_is_deterministic() -> None:
    resolved, values, text = rendered("prod")
    again = render_chart(values, kube_version=resolved.config.cluster.kubernetes_version)
    assert again.encode() == text.encode()


def test_incomplete_values_fail_before_rendering() -> None:
    _, values, _ = rendered("dev")
    broken = {**values, "database": {**values["database"], "host": ""}}
    with pytest.raises(RenderError, match="host"):
        render_chart(broken, kube_version="1.34")
    with pytest.raises(RenderError):
        render_chart({}, kube_version="1.34")  # values.yaml alone has no endpoints: refused


def pod_templates(text: str) -> dict[str, Any]:
    return {obj["metadata"]["name"]: obj["spec"]["template"] for obj in documents(text) if obj["kind"] == "Deployment"}


def test_rotating_a_secret_rolls_exactly_its_readers() -> None:
    resolved, _, text = rendered("prod")
    infra = dataclasses.replace(derived_outputs(resolved),
                                secret_versions={"anon-key": "8f14e45f-ea4e-4a6b-9c1b-2c3d4e5f6a7b"})
    after = render_chart(compile_values(resolved, infra), kube_version="1.34")
    before_pods, after_pods = pod_templates(text), pod_templates(after)
    changed = {name for name in before_pods if before_pods[name] != after_pods[name]}
    assert changed == {"kong", "storage", "studio", "functions"}


def test_studio_is_private_unless_operator_cidrs_are_listed() -> None:
    _, values, text = rendered("prod")
    assert [o["metadata"]["name"] for o in documents(text) if o["kind"] == "Ingress"] == ["api"]
    assert "dashboard" not in kong_services(text)
    public = {**values, "ingress": {**values["ingress"], "studioCidrs": ["203.0.113.0/24"]}}
    ingresses = {o["metadata"]["name"]: o for o in render_manifests(public, kube_version="1.34")
                 if o["kind"] == "Ingress"}
    assert "dashboard" in kong_services(render_chart(public, kube_version="1.34"))
    condition = json.loads(ingresses["studio"]["metadata"]["annotations"]["alb.ingress.kubernetes.io/conditions.kong"])
    assert condition == [{"field": "source-ip", "sourceIpConfig": {"values": ["203.0.113.0/24"]}}]


def kong_services(text: str) -> dict[str, Any]:
    return {s["name"]: s for s in yaml.safe_load(kong_config(text))["services"]}


def kong_route(services: dict[str, Any], path: str) -> str | None:
    """The service kong 2.x picks for `path`: the route with the longest matching prefix."""
    matches = [(len(prefix), name) for name, service in services.items() for route in service.get("routes", [])
               for prefix in route["paths"] if path.startswith(prefix)]
    return max(matches)[1] if matches else None


def test_postgres_meta_is_not_routed_to_the_internet() -> None:
    resolved, _, text = rendered("prod")
    assert resolved.service("meta") is not None  # enabled: Studio uses it inside the cluster
    services = kong_services(text)
    assert all(kong_route(services, path) is None for path in ("/pg", "/pg/", "/pg/query"))
    assert not any("meta" in s["url"] for s in services.values())
    [api] = [o for o in documents(text) if o["kind"] == "Ingress"]
    paths = [p["path"] for rule in api["spec"]["rules"] for p in rule["http"]["paths"]]
    assert "/pg" not in paths and paths
    assert "SUPABASE_SERVICE_KEY}" in kong_config(text) and "eyJ" not in kong_config(text)


def test_api_prefixes_never_fall_through_to_the_dashboard() -> None:
    # The load balancer forwards `/auth/v1` and `/auth/v1/*` to kong from anywhere; only
    # Studio's catch-all rule checks the operator CIDRs.
    _, values, _ = rendered("prod")
    public = {**values, "ingress": {**values["ingress"], "studioCidrs": ["203.0.113.0/24"]}}
    text = render_chart(public, kube_version="1.34")
    services = kong_services(text)
    api = next(o for o in documents(text) if o["kind"] == "Ingress" and o["metadata"]["name"] == "api")
    prefixes = [p["path"] for rule in api["spec"]["rules"] for p in rule["http"]["paths"]]
    for prefix in [*prefixes, "/pg", "/graphql/v1"]:
        for path in (prefix, prefix + "x", prefix + "/", prefix + "/anything"):
            assert kong_route(services, path) != "dashboard", path
    assert kong_route(services, "/") == kong_route(services, "/project/default") == "dashboard"
    assert kong_route(services, "/rest/v1/todos") == "rest-v1"


@pytest.mark.slow
@settings(max_examples=PROPERTY_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_every_accepted_config_renders_valid_safe_manifests(tree: dict[str, Any]) -> None:
    config = validate(Merged(entry="generated.yaml", files=("generated.yaml",), tree=tree, origins={}))
    resolved = resolve(config)
    values = compile_values(resolved, derived_outputs(resolved))
    objects = render_manifests(values, kube_version=config.cluster.kubernetes_version)
    assert schema_problems(objects, config.cluster.kubernetes_version) == []
    assert invariants(resolved, objects) == []
    # Every secret a pod reads (the chart's, providers', escape-hatch references) is synced from its container.
    synced = {o["spec"]["target"]["name"] for o in objects if o["kind"] == "ExternalSecret"}
    read = {e["valueFrom"]["secretKeyRef"]["name"] for o in objects if o["kind"] == "Deployment"
            for c in o["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})}
    assert read <= synced
    # No literal anywhere in a pod looks like a credential, by name or shape (the chart's own and the config's).
    literals = [(e["name"], str(e["value"])) for o in objects if o["kind"] in ("Deployment", "Job")
                for c in [*o["spec"]["template"]["spec"]["containers"],
                          *o["spec"]["template"]["spec"].get("initContainers", [])]
                for e in c.get("env", []) if "value" in e]
    assert [(n, credential_problem(n, v)) for n, v in literals if credential_problem(n, v)] == []


def test_chart_database_roles_match_the_catalog() -> None:
    """The chart's one copy of the roles: each workload reads exactly its catalog role's `db-` secret,
    and the bootstrap Job sets every login role, in the catalog's order."""
    config = resolved_env("prod").config
    components = config.supabase.components
    everything = components.model_copy(update={
        name: getattr(components, name).model_copy(update={"enabled": True}) for name in COMPONENT_NAMES})
    resolved = resolve(config.model_copy(update={"supabase": config.supabase.model_copy(
        update={"components": everything})}))
    values = compile_values(resolved, derived_outputs(resolved))
    objects = render_manifests(values, kube_version=config.cluster.kubernetes_version)
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    assert set(deployments) == set(COMPONENT_NAMES)
    for name, deployment in deployments.items():
        env = [e for c in deployment["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])]
        secrets = {e["valueFrom"]["secretKeyRef"]["name"].rsplit("-", 1)[0] for e in env
                   if "secretKeyRef" in e.get("valueFrom", {})}
        role = BY_NAME[name].database_role
        assert {s for s in secrets if s.startswith("db-")} == ({role_secret(role)} if role else set()), name
        urls = [e["value"] for e in env if "$(DB_PASSWORD)@" in e.get("value", "")]
        assert all(url.split("://", 1)[1].startswith(f"{role}:") for url in urls), name
    bootstrap = next(o for o in objects if o["kind"] == "ExternalSecret" and o["metadata"]["name"] == "db-bootstrap")
    keys = [d["secretKey"] for d in bootstrap["spec"]["data"] if d["secretKey"] not in ("username", "password")]
    assert keys == list(DATABASE_LOGIN_ROLES)
