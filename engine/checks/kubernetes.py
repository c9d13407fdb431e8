"""Invariants over rendered Kubernetes manifests that checkov does not (fully) enforce.

SECURITY.md marks these rows "own": checkov passes them vacuously or has no check. Pure: the
parsed manifests in, findings out; no I/O, no Helm.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.catalog import registry_of
from engine.checks.findings import Finding, Rule, run_rules

Manifest = Mapping[str, Any]

MIN_UID = 10000
PSS_MODES = ("enforce", "audit", "warn")

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
# Kinds that run to completion do not serve traffic, so they need no probes (nor do init containers).
BATCH_KINDS = ("Job", "CronJob")
CLUSTER_SCOPED = frozenset({
    "Namespace", "ClusterRole", "ClusterRoleBinding", "ClusterSecretStore", "CustomResourceDefinition",
    "PersistentVolume", "StorageClass", "IngressClass", "PriorityClass", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
})

_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|APIKEY|API_KEY|CRYPTO|COOKIE|(^|_)KEY($|_)")
_REFERENCE_ONLY = re.compile(r"^(\$\([A-Za-z_][A-Za-z0-9_]*\))+$")
_HARMLESS_LITERAL = re.compile(r"^(true|false|yes|no|on|off|[0-9]+(\.[0-9]+)?|)$", re.IGNORECASE)
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Rendered:
    """The manifests of one environment and what they are checked against: the allowed image
    registries, and the labels of namespaces created outside these manifests (the workloads
    stack creates `supabase`); a Namespace object in the manifests takes precedence."""

    manifests: Sequence[Manifest]
    registries: Sequence[str]
    namespace_labels: Mapping[str, Mapping[str, str]]


def check_manifests(manifests: Sequence[Manifest], *, registries: Sequence[str],
                    namespace_labels: Mapping[str, Mapping[str, str]] | None = None) -> list[Finding]:
    """Every rule over `manifests` (see `Rendered` for the other arguments)."""
    return run_rules(RULES, Rendered(manifests, registries, namespace_labels or {}))


def resource_id(obj: Manifest) -> str:
    metadata = obj.get("metadata") or {}
    return f"{obj.get('kind')}/{metadata.get('namespace', '-')}/{metadata.get('name')}"


# ------------------------------------------------------------------------------------ namespaces


def namespace_restricted(rendered: Rendered) -> Iterator[Finding]:
    """Each namespace used by the manifests is labelled `restricted` for enforce, audit and warn."""
    manifests = rendered.manifests
    labels = dict(rendered.namespace_labels)
    for obj in manifests:
        if obj.get("kind") == "Namespace":
            metadata = obj.get("metadata") or {}
            labels[str(metadata.get("name"))] = metadata.get("labels") or {}
    used = sorted({str((o.get("metadata") or {}).get("namespace")) for o in manifests
                   if (o.get("metadata") or {}).get("namespace")})
    for namespace in used:
        if namespace not in labels:
            yield Finding("K8S-NS-PSS", f"Namespace/-/{namespace}",
                          "labels unknown: create the Namespace here or pass the labels it is created with")
            continue
        for mode in PSS_MODES:
            key = f"pod-security.kubernetes.io/{mode}"
            if labels[namespace].get(key) != "restricted":
                yield Finding("K8S-NS-PSS", f"Namespace/-/{namespace}", f"{key} is not 'restricted'")


def namespaced(rendered: Rendered) -> Iterator[Finding]:
    for obj in rendered.manifests:
        if obj.get("kind") in CLUSTER_SCOPED:
            continue
        namespace = (obj.get("metadata") or {}).get("namespace")
        if not namespace:
            yield Finding("K8S-NS-SET", resource_id(obj), "metadata.namespace is not set")
        elif namespace == "default":
            yield Finding("K8S-NS-SET", resource_id(obj), "runs in the default namespace")


# ------------------------------------------------------------------------------------ pods


def pod_spec(obj: Manifest) -> Mapping[str, Any] | None:
    """The pod spec inside a workload object (None for anything else)."""
    kind = obj.get("kind")
    if kind not in WORKLOAD_KINDS:
        return None
    spec: Mapping[str, Any] = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


def containers(pod: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in pod.get(field) or []:
            yield f"{field}[{container.get('name')}]", container


def pod_security(rendered: Rendered) -> Iterator[Finding]:
    for obj in rendered.manifests:
        pod = pod_spec(obj)
        if pod is None:
            continue
        resource = resource_id(obj)
        yield from (Finding("K8S-POD-SEC", resource, m) for m in _pod_problems(pod))
        for where, container in containers(pod):
            serving = where.startswith("containers[") and obj.get("kind") not in BATCH_KINDS
            for message in _container_problems(pod, container, probes=serving):
                yield Finding("K8S-POD-SEC", resource, f"{where}: {message}")


def _pod_problems(pod: Mapping[str, Any]) -> Iterator[str]:
    context = pod.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field) is True:
            yield f"{field} is true"
    if (context.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        yield "pod securityContext.seccompProfile.type is not RuntimeDefault"
    for volume in pod.get("volumes") or []:
        if "hostPath" in volume:
            yield f"volume {volume.get('name')} is a hostPath"


def _container_problems(pod: Mapping[str, Any], container: Mapping[str, Any], *, probes: bool) -> Iterator[str]:
    pod_context = pod.get("securityContext") or {}
    context = container.get("securityContext") or {}

    def effective(field: str) -> Any:
        return context.get(field, pod_context.get(field))

    if effective("runAsNonRoot") is not True:
        yield "runAsNonRoot is not true"
    uid = effective("runAsUser")
    if not isinstance(uid, int) or uid < MIN_UID:
        yield f"runAsUser is {uid!r}, not >= {MIN_UID}"
    group = effective("runAsGroup")
    if not isinstance(group, int) or group < MIN_UID:
        yield f"runAsGroup is {group!r}, not >= {MIN_UID}"
    if context.get("allowPrivilegeEscalation") is not False:
        yield "allowPrivilegeEscalation is not false"
    if context.get("privileged") is True:
        yield "privileged is true"
    if context.get("readOnlyRootFilesystem") is not True:
        yield "readOnlyRootFilesystem is not true"
    capabilities = context.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        yield "capabilities.drop does not contain ALL"
    if capabilities.get("add"):
        yield f"capabilities.add is {capabilities['add']}"
    for port in container.get("ports") or []:
        if port.get("hostPort"):
            yield f"hostPort {port['hostPort']} is set"
    resources = container.get("resources") or {}
    for bound in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if not (resources.get(bound) or {}).get(resource):
                yield f"resources.{bound}.{resource} is missing"
    if probes:
        for probe in ("livenessProbe", "readinessProbe"):
            if not container.get(probe):
                yield f"{probe} is missing"


# ------------------------------------------------------------------------------------ secrets


def no_inline_secrets(rendered: Rendered) -> Iterator[Finding]:
    for obj in rendered.manifests:
        if obj.get("kind") == "Secret" and (obj.get("data") or obj.get("stringData")):
            yield Finding("K8S-SECRET-INLINE", resource_id(obj),
                          "a Secret with inline data; deliver it through an ExternalSecret")


def secret_like_literal(name: str, value: Any) -> bool:
    """A literal env value that looks like a secret: a secret-sounding name and a non-trivial value.

    Values that only reference other variables (`$(DB_PASSWORD)`), booleans and numbers pass.
    """
    if not _SECRET_NAME.search(name.upper()):
        return False
    text = str(value)
    return not (_HARMLESS_LITERAL.match(text) or _REFERENCE_ONLY.match(text))


def no_secret_literals(rendered: Rendered) -> Iterator[Finding]:
    for obj in rendered.manifests:
        pod = pod_spec(obj)
        if pod is None:
            continue
        for where, container in containers(pod):
            for env in container.get("env") or []:
                if "value" in env and secret_like_literal(str(env.get("name", "")), env["value"]):
                    yield Finding("K8S-SECRET-ENV", resource_id(obj),
                                  f"{where}: env {env.get('name')} has a literal value; use secretKeyRef")


# ------------------------------------------------------------------------------------ images


def image_problem(image: str, registries: Sequence[str]) -> str | None:
    registry = registry_of(image)
    if registry not in registries:
        return f"image {image} comes from {registry}, which is not in security.image_registries"
    reference = _DIGEST.sub("", image)
    name = reference.rsplit("/", 1)[-1]
    if ":" not in name:
        return f"image {image} has no tag"
    if name.rsplit(":", 1)[1] == "latest" and not _DIGEST.search(image):
        return f"image {image} uses the moving tag 'latest'"
    return None


def allowed_images(rendered: Rendered) -> Iterator[Finding]:
    for obj in rendered.manifests:
        pod = pod_spec(obj)
        if pod is None:
            continue
        for where, container in containers(pod):
            problem = image_problem(str(container.get("image", "")), rendered.registries)
            if problem:
                yield Finding("K8S-IMAGE", resource_id(obj), f"{where}: {problem}")


# ------------------------------------------------------------------------------------ identities


def service_accounts(rendered: Rendered) -> Iterator[Finding]:
    """Each workload runs as its own ServiceAccount (declared here), never `default`, without a token."""
    manifests = rendered.manifests
    declared = {(str((o.get("metadata") or {}).get("namespace")), str((o.get("metadata") or {}).get("name"))): o
                for o in manifests if o.get("kind") == "ServiceAccount"}
    users: dict[tuple[str, str], list[str]] = {}
    for obj in manifests:
        pod = pod_spec(obj)
        if pod is None:
            continue
        resource = resource_id(obj)
        name = pod.get("serviceAccountName") or "default"
        namespace = str((obj.get("metadata") or {}).get("namespace"))
        if name == "default":
            yield Finding("K8S-SA", resource, "runs as the default ServiceAccount")
            continue
        users.setdefault((namespace, name), []).append(resource)
        account = declared.get((namespace, name))
        if account is None:
            yield Finding("K8S-SA", resource, f"ServiceAccount {name} is not declared with the workload")
        token = pod.get("automountServiceAccountToken")
        if token is None and account is not None:
            token = account.get("automountServiceAccountToken")
        if token is not False:
            yield Finding("K8S-SA", resource, "the API token is mounted (automountServiceAccountToken is not false)")
    for (namespace, name), workloads in sorted(users.items()):
        if len(workloads) > 1:
            yield Finding("K8S-SA", f"ServiceAccount/{namespace}/{name}",
                          f"shared by {', '.join(sorted(workloads))}")


RULES: tuple[Rule[Rendered], ...] = (
    Rule("K8S-NS-PSS", "the namespace enforces, audits and warns at the `restricted` Pod Security level",
         "namespace restricted (PSS, CIS 4.2)", namespace_restricted),
    Rule("K8S-NS-SET", "every namespaced object names its namespace, and it is not `default`",
         "not the default namespace (CKV_K8S_21)", namespaced),
    Rule("K8S-POD-SEC", "pod and container security fields of the restricted profile, resources and probes",
         "non-root, no escalation, no caps; seccomp; read-only root; no host namespaces; resources and probes",
         pod_security),
    Rule("K8S-SECRET-INLINE", "no Secret object carries data (secrets come from External Secrets)",
         "secrets (CKV_K8S_35, CIS 4.4.1)", no_inline_secrets),
    Rule("K8S-SECRET-ENV", "no secret-looking environment variable has a literal value",
         "secrets (CKV_K8S_35, CIS 4.4.1)", no_secret_literals),
    Rule("K8S-IMAGE", "every image is pinned and comes from an allow-listed registry",
         "images (CKV_K8S_14/43, CIS 5.1.4)", allowed_images),
    Rule("K8S-SA", "one ServiceAccount per workload, never `default`, tokens not mounted",
         "service-account tokens (CKV_K8S_38/41, CIS 4.1.5-6)", service_accounts),
)
