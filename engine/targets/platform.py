"""The platform controllers charts/supabase relies on: pinned upstream charts and their values.

charts/supabase assumes four controllers run in the cluster:

* External Secrets Operator: its CRDs (`ClusterSecretStore`, `ExternalSecret`) and the
  `external-secrets/secret-store` service account whose IRSA role reads this platform's
  secrets (the controller's own account holds no role);
* AWS Load Balancer Controller: turns the chart's Ingress into the ALB (and associates the WAF
  ACL);
* Cluster Autoscaler: grows the managed node groups when HPAs add pods;
* metrics-server: the CPU metrics the HPAs scale on.

Both delivery modes install the same releases with the same values: the workloads stack as
`helm_release`s (`delivery.mode: helm`), Argo CD as Applications (`delivery.mode: argocd`).
This module is the single source of both, and pure (no CDK Terrain import): the caller passes
how an IAM role ARN is written (a Terraform reference, or the deterministic ARN) and how the
load balancer controller finds its VPC.

Every chart is pinned to an exact version from its upstream repository. Values ask for what
the charts allow towards the restricted Pod Security Standard (non-root, no privilege
escalation, all capabilities dropped, read-only root filesystem, RuntimeDefault seccomp) and
set requests and memory limits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.identities import (
    CLUSTER_AUTOSCALER,
    EXTERNAL_SECRETS_CONTROLLER,
    EXTERNAL_SECRETS_NAMESPACE,
    LOAD_BALANCER_CONTROLLER,
    SECRET_STORE,
    SUPABASE_NAMESPACE,
    ServiceAccount,
)
from engine.resolve import Resolved

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
RESTRICTED = "restricted"


@dataclass(frozen=True)
class UpstreamChart:
    """Where a chart comes from: a classic Helm repository, a chart name and an exact version."""

    repository: str
    chart: str
    version: str


# Pinned chart versions (looked up 2026-10 from each project's releases; bump deliberately,
# reading the upgrade notes: ESO and the ALB controller ship CRDs with the chart).
EXTERNAL_SECRETS_CHART = UpstreamChart(
    "https://charts.external-secrets.io", "external-secrets", "2.13.0")  # ESO v2.x, external-secrets.io/v1 API
LOAD_BALANCER_CONTROLLER_CHART = UpstreamChart(
    "https://aws.github.io/eks-charts", "aws-load-balancer-controller", "3.5.0")  # chart 3.5 added `vpcTags`
CLUSTER_AUTOSCALER_CHART = UpstreamChart(
    "https://kubernetes.github.io/autoscaler", "cluster-autoscaler", "9.59.0")
METRICS_SERVER_CHART = UpstreamChart(
    "https://kubernetes-sigs.github.io/metrics-server/", "metrics-server", "3.14.0")

# Cluster Autoscaler's minor version must equal the cluster's Kubernetes minor version; the
# chart's default image follows the newest Kubernetes, so the image tag is pinned per version
# (latest patch of each minor as of 2026-10).
CLUSTER_AUTOSCALER_IMAGES: Mapping[str, str] = {
    "1.32": "v1.32.5",
    "1.33": "v1.33.5",
    "1.34": "v1.34.4",
    "1.35": "v1.35.1",
}


@dataclass(frozen=True)
class ControllerRelease:
    """One controller: release name, namespace, chart and complete values."""

    name: str
    namespace: str
    chart: UpstreamChart
    values: dict[str, Any]
    needs_crds: bool = False  # the release installs CRDs (Argo CD: server-side apply)


@dataclass(frozen=True)
class Namespace:
    """A namespace the platform creates, with its Pod Security Standard labels."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)


def pss_labels(level: str = RESTRICTED) -> dict[str, str]:
    """`pod-security.kubernetes.io/{enforce,audit,warn}` at `level`, each with `-version: latest`."""
    labels: dict[str, str] = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    return labels


def namespaces() -> tuple[Namespace, ...]:
    """The namespaces created before any release: supabase and external-secrets, both restricted.

    kube-system (the other controllers) exists already and is not restricted (EKS add-ons run
    privileged there).
    """
    return (Namespace(SUPABASE_NAMESPACE, pss_labels()), Namespace(EXTERNAL_SECRETS_NAMESPACE, pss_labels()))


def deterministic_role_arn(resolved: Resolved, account: ServiceAccount) -> str:
    """`arn:<partition>:iam::<account>:role/<role_prefix>-<suffix>`: IRSA role names are fixed, so
    their ARNs are known before any stack exists (what `delivery.mode: argocd` relies on)."""
    role = f"{resolved.names['role_prefix']}-{account.role_suffix}"
    return f"arn:{resolved.partition}:iam::{resolved.config.project.account_id}:role/{role}"


RoleArn = Callable[[ServiceAccount], str]


def controllers(resolved: Resolved, *, role_arn: RoleArn, vpc_id: str | None) -> tuple[ControllerRelease, ...]:
    """The four controller releases in install order.

    `role_arn(account)` writes the IRSA role ARN of a service account. `vpc_id` is the VPC the
    load balancer controller manages; its pods cannot ask IMDS (hop limit 1 keeps pods away
    from the node role), so without an id it finds the VPC by its `Name` tag instead.
    """
    return (
        _external_secrets(role_arn),
        _load_balancer_controller(resolved, role_arn, vpc_id),
        _cluster_autoscaler(resolved, role_arn),
        _metrics_server(resolved),
    )


def _service_account(account: ServiceAccount, role_arn: RoleArn) -> dict[str, Any]:
    return {"create": True, "name": account.name, "annotations": {ROLE_ANNOTATION: role_arn(account)}}


def _container_security(user: int = 65534) -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _pod_security(user: int = 65534) -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": user, "runAsGroup": user, "fsGroup": user,
            "seccompProfile": {"type": "RuntimeDefault"}}


def _resources(cpu: str, memory: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}


def _replicas(resolved: Resolved) -> int:
    return 2 if resolved.config.project.tier == "production" else 1


def _external_secrets(role_arn: RoleArn) -> ControllerRelease:
    component = {"securityContext": _container_security(1000), "podSecurityContext": {
        "enabled": True, **_pod_security(1000)}}
    values = {
        "installCRDs": True,
        # The controller holds no role; the store's account (created here, never mounted by a
        # pod) does, and ESO requests a token for it only for the ClusterSecretStore that names it.
        "serviceAccount": {"create": True, "name": EXTERNAL_SECRETS_CONTROLLER, "annotations": {}},
        "extraObjects": [{
            "apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": False,
            "metadata": {"name": SECRET_STORE.name, "namespace": SECRET_STORE.namespace,
                         "annotations": {ROLE_ANNOTATION: role_arn(SECRET_STORE)}},
        }],
        **component,
        "resources": _resources("50m", "128Mi"),
        "webhook": {**component, "resources": _resources("20m", "64Mi")},
        "certController": {**component, "resources": _resources("20m", "128Mi")},
    }
    return ControllerRelease("external-secrets", EXTERNAL_SECRETS_NAMESPACE, EXTERNAL_SECRETS_CHART, values,
                             needs_crds=True)


def _load_balancer_controller(resolved: Resolved, role_arn: RoleArn, vpc_id: str | None) -> ControllerRelease:
    vpc: dict[str, Any] = {"vpcId": vpc_id} if vpc_id else {"vpcTags": {"Name": f"{resolved.prefix}-vpc"}}
    values = {
        "clusterName": resolved.names["cluster"],
        "region": resolved.config.project.region,
        **vpc,
        "replicaCount": 2,
        "serviceAccount": _service_account(LOAD_BALANCER_CONTROLLER, role_arn),
        "securityContext": _container_security(),
        "podSecurityContext": _pod_security(),
        "resources": _resources("100m", "256Mi"),
        # The chart's Ingress is the only load balancer; no mutation of other Services.
        "enableServiceMutatorWebhook": False,
        "defaultTags": dict(resolved.tags),
    }
    return ControllerRelease("aws-load-balancer-controller", LOAD_BALANCER_CONTROLLER.namespace,
                             LOAD_BALANCER_CONTROLLER_CHART, values, needs_crds=True)


def _cluster_autoscaler(resolved: Resolved, role_arn: RoleArn) -> ControllerRelease:
    version = resolved.config.cluster.kubernetes_version
    values = {
        "cloudProvider": "aws",
        "awsRegion": resolved.config.project.region,
        "autoDiscovery": {"clusterName": resolved.names["cluster"]},
        "image": {"tag": CLUSTER_AUTOSCALER_IMAGES[version]},
        "rbac": {"serviceAccount": _service_account(CLUSTER_AUTOSCALER, role_arn)},
        "extraArgs": {"balance-similar-node-groups": True, "expander": "least-waste"},
        "securityContext": _pod_security(),
        "containerSecurityContext": _container_security(),
        "resources": _resources("100m", "300Mi"),
    }
    return ControllerRelease("cluster-autoscaler", CLUSTER_AUTOSCALER.namespace, CLUSTER_AUTOSCALER_CHART, values)


def _metrics_server(resolved: Resolved) -> ControllerRelease:
    replicas = _replicas(resolved)
    values = {
        "replicas": replicas,
        "podDisruptionBudget": {"enabled": replicas > 1, "minAvailable": 1},
        "securityContext": _container_security(1000),
        "podSecurityContext": _pod_security(1000),
        "resources": _resources("100m", "200Mi"),
    }
    return ControllerRelease("metrics-server", "kube-system", METRICS_SERVER_CHART, values)
