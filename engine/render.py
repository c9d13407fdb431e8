"""Render and lint charts/supabase with Helm's own engine, in process and offline.

helm-python-sdk binds Helm v4's Go SDK (a bundled shared library, no helm binary, no network):
rendering and linting read only the chart directory and the values given here. This module is
the edge that imports it; everything upstream (values compilation) stays pure.

The SDK's `Chart.render` does not expose the Kubernetes version that templates see through
`.Capabilities`; the library's render call accepts it (`kube_version`, checked strictly: an
unknown option is an error, never ignored), so this module passes it through the SDK's
low-level call. The chart itself does not branch on capabilities, but rendering "for" the
configured version keeps `kubeVersion` constraints in Chart.yaml honest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
from helm_python import _native

from engine.errors import EngineError
from engine.resources import data_path
from engine.write import dump_yaml, load_yaml_all

RELEASE_NAME = "supabase"
DEFAULT_NAMESPACE = "supabase"
CHART = "charts/supabase"

# Helm's install order, so the multi-document output reads (and applies) in dependency order.
_KIND_ORDER = (
    "Namespace", "ClusterSecretStore", "SecretStore", "ServiceAccount", "ConfigMap", "Secret",
    "ExternalSecret", "Service", "Deployment", "Job", "HorizontalPodAutoscaler",
    "PodDisruptionBudget", "NetworkPolicy", "Ingress",
)


class RenderError(EngineError):
    """The chart failed to render or lint with the given values."""


@dataclass(frozen=True)
class LintMessage:
    severity: str
    path: str
    message: str


def chart_path() -> Path:
    """The chart directory, in a checkout or an installed wheel."""
    return data_path(CHART)


def helm_kube_version(version: str) -> str:
    """`1.34` (the config's form) -> `v1.34.0` (Helm's)."""
    parts = version.lstrip("v").split(".")
    return "v" + ".".join([*parts, "0", "0"][:3])


def render_chart(values: Mapping[str, Any], *, chart_dir: Path | None = None, namespace: str = DEFAULT_NAMESPACE,
                 kube_version: str) -> str:
    """The chart's manifests for `values` as one multi-document YAML string.

    Deterministic: documents are ordered by kind (install order), then namespace and name, and
    dumped with sorted keys, so the same values always give the same bytes.
    """
    return dump_manifests(render_manifests(values, chart_dir=chart_dir, namespace=namespace,
                                           kube_version=kube_version))


def render_manifests(values: Mapping[str, Any], *, chart_dir: Path | None = None,
                     namespace: str = DEFAULT_NAMESPACE, kube_version: str) -> list[dict[str, Any]]:
    """The rendered objects, parsed and in install order."""
    options = {"name": RELEASE_NAME, "namespace": namespace, "is_install": True,
               "kube_version": helm_kube_version(kube_version)}
    try:
        with helm.Chart.load(chart_dir or chart_path()) as chart:
            chart.validate_schema(dict(values))
            rendered: dict[str, str] = json.loads(
                _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(options))
            )
    except helm.HelmError as error:
        raise RenderError(f"charts/supabase did not render: {error}") from error
    objects = [doc for _, text in sorted(rendered.items()) for doc in load_yaml_all(text)
               if isinstance(doc, dict)]
    return sorted(objects, key=_order)


def dump_manifests(objects: list[dict[str, Any]]) -> str:
    return dump_yaml(objects, width=120, explicit_start=True)


def lint_chart(values: Mapping[str, Any], *, chart_dir: Path | None = None, namespace: str = DEFAULT_NAMESPACE,
               kube_version: str) -> list[LintMessage]:
    """Helm's `lint --strict` findings (warnings and errors) for `values`; empty means clean."""
    report = helm.lint(chart_dir or chart_path(), dict(values), strict=True, namespace=namespace,
                       kube_version=helm_kube_version(kube_version))
    severities = {0: "unknown", 1: "info", 2: "warning", 3: "error"}
    messages = [LintMessage(severities.get(m["severity"], "unknown"), m["path"], m["error"])
                for m in report["messages"] if m["severity"] != 1]
    messages += [LintMessage("error", "", str(e)) for e in report.get("errors") or []]
    return messages


def _order(obj: Mapping[str, Any]) -> tuple[int, str, str]:
    kind = str(obj.get("kind", ""))
    rank = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)
    metadata = obj.get("metadata") or {}
    return rank, str(metadata.get("namespace", "")), f"{kind}/{metadata.get('name', '')}"
