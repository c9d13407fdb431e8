"""Argo CD Applications for `delivery.mode: argocd`: the cluster pulls, Terraform never reaches in.

Pure functions of `Resolved` for the same charts the workloads stack installs; the caller writes
them out (README: "Argo CD delivery").
"""

from __future__ import annotations

from typing import Any

from engine.errors import EngineError
from engine.identities import SUPABASE_NAMESPACE
from engine.resolve import Resolved
from engine.targets import platform

API_VERSION = "argoproj.io/v1alpha1"
ARGOCD_NAMESPACE = "argocd"
PROJECT = "default"
CHART_DIR = "charts/supabase"
VALUES_FILE = "../../helm/values.yaml"  # relative to the chart: <path>/helm/values.yaml
WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
RETRY = {"limit": 10, "backoff": {"duration": "30s", "factor": 2, "maxDuration": "10m"}}


def application(resolved: Resolved) -> dict[str, Any]:
    """The Application for charts/supabase, read from the synthesized output in Git."""
    argocd = _settings(resolved)
    path = argocd.path.strip("/")
    return _application(
        resolved, name=f"{resolved.prefix}-supabase", namespace=SUPABASE_NAMESPACE, wave=0,
        source={"repoURL": argocd.repo_url, "targetRevision": argocd.revision, "path": f"{path}/{CHART_DIR}",
                "helm": {"releaseName": "supabase", "valueFiles": [VALUES_FILE]}},
        labels=platform.pss_labels(), skip_missing=True)


def controller_applications(resolved: Resolved) -> list[dict[str, Any]]:
    """One Application per platform controller, from its upstream chart repository."""
    _settings(resolved)
    labels = {ns.name: ns.labels for ns in platform.namespaces()}
    releases = platform.controllers(
        resolved, role_arn=lambda account: platform.deterministic_role_arn(resolved, account), vpc_id=None)
    return [
        _application(
            resolved, name=f"{resolved.prefix}-{release.name}", namespace=release.namespace, wave=-1,
            source={"repoURL": release.chart.repository, "chart": release.chart.chart,
                    "targetRevision": release.chart.version,
                    "helm": {"releaseName": release.name, "valuesObject": release.values}},
            labels=labels.get(release.namespace), server_side=release.needs_crds)
        for release in releases
    ]


def applications(resolved: Resolved) -> list[dict[str, Any]]:
    """Every Application of the environment, controllers first."""
    return [*controller_applications(resolved), application(resolved)]


def _settings(resolved: Resolved) -> Any:
    delivery = resolved.config.delivery
    if delivery.mode != "argocd" or delivery.argocd is None:
        raise EngineError("Argo CD Applications exist only with delivery.mode: argocd and delivery.argocd set",
                          "set delivery.mode: argocd and delivery.argocd.repo_url/path")
    return delivery.argocd


def _application(resolved: Resolved, *, name: str, namespace: str, wave: int, source: dict[str, Any],
                 labels: dict[str, str] | None, server_side: bool = False,
                 skip_missing: bool = False) -> dict[str, Any]:
    options = ["CreateNamespace=true" if labels is not None else "CreateNamespace=false", "PruneLast=true"]
    if server_side:
        options.append("ServerSideApply=true")
    if skip_missing:  # the chart's ExternalSecrets need ESO's CRDs, which the wave before installs
        options.append("SkipDryRunOnMissingResource=true")
    sync: dict[str, Any] = {"automated": {"prune": True, "selfHeal": True}, "syncOptions": options,
                            "retry": RETRY}
    if labels is not None:
        sync["managedNamespaceMetadata"] = {"labels": dict(labels)}
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": ARGOCD_NAMESPACE,
            "labels": {"app.kubernetes.io/part-of": "supa-engine", "supa-engine/environment": resolved.prefix},
            "annotations": {WAVE_ANNOTATION: str(wave)},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": PROJECT,
            "source": source,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": sync,
        },
    }
