"""Argo CD Applications for delivery.mode: argocd (pure functions; no CDK Terrain)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.config import load_config
from engine.errors import EngineError
from engine.identities import LOAD_BALANCER_CONTROLLER, SECRET_STORE
from engine.resolve import Resolved, resolve
from engine.targets import argocd, platform
from tests.support import ROOT, resolved_env

REPO = "https://github.com/acme/platform.git"


def resolved_with(tmp_path: Path, env: str = "prod", **argocd_settings: str) -> Resolved:
    path = tmp_path / f"{env}.yaml"  # the environment is named after the file
    path.write_text(yaml.safe_dump({
        "extends": str(ROOT / "environments" / f"{env}.yaml"),
        "delivery": {"mode": "argocd", "argocd": {"repo_url": REPO, "path": "out/prod", **argocd_settings}},
    }))
    return resolve(load_config(path).config)


@pytest.fixture
def resolved(tmp_path: Path) -> Resolved:
    return resolved_with(tmp_path, revision="v1.2.3")


def test_supabase_application_points_at_the_committed_output(resolved: Resolved) -> None:
    app = argocd.application(resolved)
    assert (app["apiVersion"], app["kind"]) == ("argoproj.io/v1alpha1", "Application")
    assert app["metadata"]["namespace"] == "argocd"
    source = app["spec"]["source"]
    assert source == {"repoURL": REPO, "targetRevision": "v1.2.3", "path": "out/prod/charts/supabase",
                      "helm": {"releaseName": "supabase", "valueFiles": ["../../helm/values.yaml"]}}
    # the value file resolves, relative to the chart directory, to <path>/helm/values.yaml
    assert (Path("/repo") / source["path"] / source["helm"]["valueFiles"][0]).resolve() == Path(
        "/repo/out/prod/helm/values.yaml")
    assert app["spec"]["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "supabase"}


def test_sync_policy_prunes_heals_and_labels_the_namespace(resolved: Resolved) -> None:
    sync = argocd.application(resolved)["spec"]["syncPolicy"]
    assert sync["automated"] == {"prune": True, "selfHeal": True}
    assert "CreateNamespace=true" in sync["syncOptions"]
    assert sync["managedNamespaceMetadata"]["labels"] == platform.pss_labels()
    assert sync["managedNamespaceMetadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert sync["retry"]["limit"] > 0


def by_name(apps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {app["spec"]["source"].get("chart", "supabase"): app for app in apps}


def test_controllers_come_from_pinned_upstream_charts_first(resolved: Resolved) -> None:
    apps = argocd.applications(resolved)
    assert apps[-1] == argocd.application(resolved)
    found = by_name(apps[:-1])
    assert set(found) == {"external-secrets", "aws-load-balancer-controller", "cluster-autoscaler", "metrics-server"}
    pins = {c.chart: c for c in (platform.EXTERNAL_SECRETS_CHART, platform.LOAD_BALANCER_CONTROLLER_CHART,
                                 platform.CLUSTER_AUTOSCALER_CHART, platform.METRICS_SERVER_CHART)}
    for chart, app in found.items():
        source = app["spec"]["source"]
        assert (source["repoURL"], source["targetRevision"]) == (pins[chart].repository, pins[chart].version)
        assert int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) < 0
    assert "ServerSideApply=true" in found["external-secrets"]["spec"]["syncPolicy"]["syncOptions"]
    assert "CreateNamespace=false" in found["metrics-server"]["spec"]["syncPolicy"]["syncOptions"]


def test_controller_roles_are_deterministic_arns(resolved: Resolved) -> None:
    found = by_name(argocd.controller_applications(resolved))
    account = resolved.config.project.account_id
    eso = found["external-secrets"]["spec"]["source"]["helm"]["valuesObject"]
    assert eso["extraObjects"][0]["metadata"]["annotations"][platform.ROLE_ANNOTATION] == (
        f"arn:aws:iam::{account}:role/{resolved.prefix}-{SECRET_STORE.role_suffix}")
    assert platform.ROLE_ANNOTATION not in eso["serviceAccount"]["annotations"]
    alb = found["aws-load-balancer-controller"]["spec"]["source"]["helm"]["valuesObject"]
    assert alb["serviceAccount"]["annotations"][platform.ROLE_ANNOTATION].endswith(
        f":role/{resolved.prefix}-{LOAD_BALANCER_CONTROLLER.role_suffix}")
    assert alb["vpcTags"] == {"Name": f"{resolved.prefix}-vpc"} and "vpcId" not in alb


def test_namespaces_of_controllers_are_restricted_where_created(resolved: Resolved) -> None:
    eso = by_name(argocd.controller_applications(resolved))["external-secrets"]["spec"]["syncPolicy"]
    assert eso["managedNamespaceMetadata"]["labels"] == platform.pss_labels()


def test_output_is_yaml_serialisable_and_deterministic(tmp_path: Path) -> None:
    first = yaml.safe_dump_all(argocd.applications(resolved_with(tmp_path)), sort_keys=True)
    second = yaml.safe_dump_all(argocd.applications(resolved_with(tmp_path)), sort_keys=True)
    assert first == second


def test_helm_mode_has_no_applications() -> None:
    helm_mode = resolved_env("prod")
    with pytest.raises(EngineError, match=r"delivery\.mode: argocd"):
        argocd.application(helm_mode)
