"""The shape of charts/supabase's values: the model `values.schema.json` is generated from.

A wrong `helm install -f` then fails on the schema before anything renders; `engine.targets.helm`
fills this model and `supa-engine schema` writes its JSON Schema into the chart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from engine.catalog import COMPONENT_NAMES
from engine.config.model.base import CIDR_PATTERN, CPU_PATTERN, MEMORY_PATTERN, pattern_error

_CPU = f"^{CPU_PATTERN}$"
_MEMORY = f"^{MEMORY_PATTERN}$"
_CIDR = CIDR_PATTERN
# repository:tag[@sha256:digest], always with a tag (the config model already refuses `latest`;
# Go's and Rust's regex engines have no look-ahead to refuse it here too).
_IMAGE = r"^[a-z0-9.:/_-]+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[0-9a-f]{64})?$"
_ARN = r"^arn:aws(-cn|-us-gov)?:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$"
_DNS_NAME = r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$"
_SECRET_KEY = r"^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$"
_HTTPS = r"^https://"
_DATABASE_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
_DURATION = r"^[0-9]+[smh]$"
_VERSION = r"^[a-z0-9]{1,16}$"
_SSL_POLICY = r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resources(_Strict):
    cpu: str = Field(pattern=_CPU, description="CPU request.")
    memory: str = Field(pattern=_MEMORY, description="Memory request and limit.")
    cpuLimit: str = Field(pattern=_CPU, description="CPU limit.")


class Replicas(_Strict):
    min: int = Field(ge=1, le=100, description="HorizontalPodAutoscaler minReplicas; a PDB exists when > 1.")
    max: int = Field(ge=1, le=100, description="HorizontalPodAutoscaler maxReplicas.")
    cpuTargetPercent: int = Field(ge=10, le=95, description="Average CPU utilisation target.")


class Component(_Strict):
    enabled: bool = Field(description="Render this component.")
    image: str = Field(pattern=_IMAGE, description="Pinned image: repository:tag[@sha256:digest].")
    port: int = Field(ge=1, le=65535, description="Container and Service port.")
    resources: Resources
    replicas: Replicas


if TYPE_CHECKING:
    class Components(_Strict):
        """One `Component` per catalog component."""
else:  # one required field per catalog component, in catalog order (disabled ones keep valid defaults)
    Components = create_model("Components", __base__=_Strict,
                              **dict.fromkeys(COMPONENT_NAMES, (Component, ...)))


class Platform(_Strict):
    prefix: str = Field(min_length=1, pattern=_DNS_NAME, description="<project>-<environment>.")
    region: str = Field(min_length=1, description="AWS region.")
    domain: str = Field(min_length=1, pattern=_DNS_NAME, description="Public API host name.")
    siteUrl: str = Field(pattern=_HTTPS, description="Default redirect after sign-in.")
    redirectUrls: list[str] = Field(description="Additional allowed redirect URLs.")


class DatabaseTls(_Strict):
    caConfigMap: str = Field(min_length=1, pattern=_DNS_NAME,
                             description="ConfigMap holding the RDS CA bundle (PEM).")
    caKey: str = Field(min_length=1, description="Key of the bundle in that ConfigMap.")
    caBundle: str = Field(description="PEM of the regional RDS CA bundle (public). When set, the chart "
                          "creates the ConfigMap; when empty, it must already exist.")


class Database(_Strict):
    host: str = Field(min_length=1, pattern=_DNS_NAME, description="RDS endpoint host.")
    port: int = Field(ge=1, le=65535, description="RDS port.")
    name: str = Field(min_length=1, pattern=_DATABASE_NAME, description="Database name.")
    tls: DatabaseTls


class StoreServiceAccount(_Strict):
    name: str = Field(min_length=1, description="Service account whose IRSA role reads Secrets Manager.")
    namespace: str = Field(min_length=1, description="Its namespace (External Secrets Operator's).")


class SecretStore(_Strict):
    name: str = Field(min_length=1, pattern=_DNS_NAME, description="ClusterSecretStore name.")
    serviceAccount: StoreServiceAccount
    refreshInterval: str = Field(pattern=_DURATION, description="How often ESO re-reads each secret.")


class SecretItem(_Strict):
    remoteKey: str = Field(min_length=1, description="Secrets Manager name (never a value).")
    version: str = Field(pattern=_VERSION,
                         description="Token of the Secrets Manager version; part of the synced Secret's name.")


class Secrets(_Strict):
    store: SecretStore
    items: dict[str, SecretItem] = Field(description="Catalog secret name -> where it lives.",
                                         json_schema_extra={"propertyNames": {"pattern": _SECRET_KEY}})


class Bootstrap(_Strict):
    enabled: bool = Field(description="Run `supa-engine db bootstrap` as a pre-install/pre-upgrade hook.")
    image: str = Field(pattern=_IMAGE, description="The supa-engine image (published by the project).")
    masterSecretArn: str = Field(pattern=_ARN, description="ARN of the RDS-managed master user secret.")
    resources: Resources


class AccessLogs(_Strict):
    bucket: str = Field(min_length=3, description="S3 bucket for load balancer access logs.")
    prefix: str = Field(description="Key prefix of the logs.")


class Ingress(_Strict):
    enabled: bool = Field(description="Create the ALB Ingress for kong.")
    className: str = Field(min_length=1, description="IngressClass of the AWS Load Balancer Controller.")
    loadBalancerName: str = Field(min_length=1, max_length=32, description="ALB name.")
    certificateArn: str = Field(pattern=_ARN, description="ACM certificate (HTTPS only).")
    sslPolicy: str = Field(pattern=_SSL_POLICY,
                           description="TLS 1.2+ listener policy.")
    inboundCidrs: list[str] = Field(min_length=1, json_schema_extra={"items": {"pattern": _CIDR}},
                                    description="Sources allowed to reach the load balancer.")
    wafAclArn: str = Field(description="WAFv2 web ACL ARN, empty when WAF is off.")
    accessLogs: AccessLogs
    tags: dict[str, str] = Field(description="AWS tags of the load balancer.")
    studioCidrs: list[str] = Field(json_schema_extra={"items": {"pattern": _CIDR}},
                                   description="Non-empty: Studio is served (behind basic auth) to these only.")


class Storage(_Strict):
    bucket: str = Field(min_length=3, max_length=63, description="S3 bucket of stored objects.")
    region: str = Field(min_length=1, description="Region of the bucket.")
    roleArn: str = Field(pattern=_ARN, description="IRSA role of the storage service account.")
    fileSizeLimitBytes: int = Field(ge=1, description="Largest accepted upload.")


class Smtp(_Strict):
    host: str = Field(min_length=1)
    port: Literal[465, 587]
    user: str = Field(min_length=1)
    sender: str = Field(min_length=3)
    senderName: str = Field(min_length=1)


class Auth(_Strict):
    signupEnabled: bool
    emailAutoconfirm: bool
    jwtExpirySeconds: int = Field(ge=300, le=604800)
    smtp: Smtp | None = Field(description="Mail server; null disables email sending.")


class NetworkPolicy(_Strict):
    name: str = Field(min_length=1, max_length=63, pattern=_DNS_NAME, description="NetworkPolicy name.")
    annotations: dict[str, str] = Field(description="Annotations (the reason for any internet-wide peer).")
    spec: dict[str, Any] = Field(description="NetworkPolicySpec (networking.k8s.io/v1), compiled by "
                                 "engine/targets/policies.py from the service graph; rendered as is.")


class ChartValues(_Strict):
    """Values of charts/supabase. Everything is required: `compile_values` always writes all of it."""

    model_config = ConfigDict(title="supa-engine chart values")

    platform: Platform
    database: Database
    secrets: Secrets
    bootstrap: Bootstrap
    ingress: Ingress
    storage: Storage
    auth: Auth
    components: Components
    networkPolicies: list[NetworkPolicy] = Field(
        min_length=1, description="The namespace's NetworkPolicies, default deny first (never empty: fail closed).")


def values_schema() -> dict[str, Any]:
    """JSON Schema of the chart values (written to charts/supabase/values.schema.json)."""
    schema = ChartValues.model_json_schema()
    _explain_patterns(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _explain_patterns(node: Any) -> None:
    """Give every pattern its `patternErrorMessage`, which editors show instead of the regex."""
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            node["patternErrorMessage"] = _PATTERN_MESSAGES[node["pattern"]]
        for value in node.values():
            _explain_patterns(value)
    elif isinstance(node, list):
        for value in node:
            _explain_patterns(value)


_PATTERN_MESSAGES = {
    _CPU: pattern_error("a CPU quantity", "millicores such as 250m, or cores such as 1 or 0.5"),
    _MEMORY: pattern_error("a memory quantity", "a whole number with Ki, Mi, Gi or Ti, such as 512Mi"),
    _CIDR: pattern_error("an IPv4 CIDR block", "write it as a.b.c.d/prefix"),
    _IMAGE: pattern_error("a pinned image", "repository:tag, optionally @sha256:digest"),
    _ARN: pattern_error("an AWS ARN", "arn:aws:<service>:<region>:<12-digit account>:<resource>"),
    _DNS_NAME: pattern_error("a DNS name", "lowercase letters, digits, '.' and '-'"),
    _SECRET_KEY: pattern_error("a secret key name", "lowercase letters, digits and '-', up to 42 characters"),
    _HTTPS: pattern_error("an https URL", "start it with https://"),
    _DATABASE_NAME: pattern_error("a database name", "a letter or '_', then letters, digits or '_', up to 63"),
    _DURATION: pattern_error("a duration", "a whole number with s, m or h, such as 1h"),
    _VERSION: pattern_error("a version label", "up to 16 lowercase letters and digits"),
    _SSL_POLICY: pattern_error("a TLS 1.2+ ELB security policy", "such as ELBSecurityPolicy-TLS13-1-2-2021-06"),
}
