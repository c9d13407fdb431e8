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
_PARAMETER = r"^(/[A-Za-z0-9_.-]+)+$"
_SECRET_KEY = r"^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$"
_HTTPS = r"^https://"
_DATABASE_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
_DURATION = r"^[0-9]+[smh]$"
_VERSION = r"^[a-z0-9]{1,16}$"
_SSL_POLICY = r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)"
_ENV_NAME = r"^[A-Z0-9_]+$"
_ENV_VARIABLE = r"^[A-Za-z_][A-Za-z0-9_]*$"
_SECONDS = r"^([0-9]+s)?$"
_WAF_ACL_NAME = r"^([A-Za-z0-9_-]{1,128})?$"


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


class EnvVar(_Strict):
    name: str = Field(pattern=_ENV_VARIABLE, description="Environment variable name.")
    value: str | None = Field(description="A literal value (never a credential: the config refuses those).")
    secret: str | None = Field(pattern=_SECRET_KEY, description="Or the catalog secret (`secrets.items`) to read.")


class Component(_Strict):
    enabled: bool = Field(description="Render this component.")
    image: str = Field(pattern=_IMAGE, description="Pinned image: repository:tag[@sha256:digest].")
    port: int = Field(ge=1, le=65535, description="Container and Service port.")
    resources: Resources
    replicas: Replicas
    env: list[EnvVar] = Field(description="Extra environment (supabase.components.<name>.env), after the chart's.")


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
    tagOnlyImages: bool = Field(
        False, description="Images pinned by tag alone are accepted (non-production, or "
        "security.accept_tag_only_images); only then is checkov's digest check (CKV_K8S_43) skipped.")


class DatabaseTls(_Strict):
    caConfigMap: str = Field(min_length=1, pattern=_DNS_NAME,
                             description="ConfigMap holding the RDS CA bundle (PEM).")
    caKey: str = Field(min_length=1, description="Key of the bundle in that ConfigMap.")
    caBundle: str = Field(description="PEM of the regional RDS CA bundle (public). When set, the chart "
                          "creates the ConfigMap; when empty, it must already exist.")


class Database(_Strict):
    hostParameter: str = Field(pattern=_PARAMETER, description="SSM parameter holding the RDS endpoint host "
                               "(published by the data stack; read at runtime into the Secret `database-endpoint`).")
    port: int = Field(ge=1, le=65535, description="RDS port.")
    name: str = Field(min_length=1, pattern=_DATABASE_NAME, description="Database name.")
    tls: DatabaseTls


class StoreServiceAccount(_Strict):
    name: str = Field(min_length=1, description="Service account whose IRSA role reads Secrets Manager.")
    namespace: str = Field(min_length=1, description="Its namespace (External Secrets Operator's).")


class SecretStore(_Strict):
    name: str = Field(min_length=1, pattern=_DNS_NAME, description="ClusterSecretStore of Secrets Manager.")
    parametersName: str = Field(min_length=1, pattern=_DNS_NAME,
                                description="ClusterSecretStore of SSM Parameter Store (AWS-assigned facts).")
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
    databaseArn: str = Field(pattern=_ARN, description="ARN of the RDS instance; its RDS-managed master user "
                             "secret is found by the `aws:rds:primaryDBInstanceArn` tag RDS puts on it.")
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
    wafAclName: str = Field(pattern=_WAF_ACL_NAME,
                            description="WAFv2 web ACL name (the controller resolves it), empty when WAF is off.")
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


class AuthProvider(_Strict):
    envName: str = Field(pattern=_ENV_NAME, description="GoTrue's name: GOTRUE_EXTERNAL_<envName>_*.")
    clientId: str = Field(min_length=1, description="OAuth client ID (public).")
    url: str = Field(description="Provider or tenant URL; empty for the provider's default.")
    secret: str = Field(pattern=_SECRET_KEY, description="Catalog secret holding the client secret.")


class Mfa(_Strict):
    totp: bool = Field(description="TOTP enrolment and verification.")
    maxEnrolledFactors: int = Field(ge=1, le=100)


class RateLimits(_Strict):
    emailSent: int = Field(ge=1, description="Per hour.")
    smsSent: int = Field(ge=1, description="Per hour.")
    verify: int = Field(ge=1, description="Per 5 minutes.")
    tokenRefresh: int = Field(ge=1, description="Per 5 minutes.")
    otp: int = Field(ge=1, description="Per 5 minutes.")
    anonymousUsers: int = Field(ge=1, description="Per hour.")


class Sessions(_Strict):
    timebox: str = Field(pattern=_SECONDS, description="Go duration; empty: sessions never time out.")
    inactivityTimeout: str = Field(pattern=_SECONDS, description="Go duration; empty: none.")
    refreshTokenRotation: bool
    refreshTokenReuseInterval: int = Field(ge=0, description="Seconds.")


class Sms(_Strict):
    provider: Literal["twilio", "twilio_verify", "messagebird", "textlocal"]
    settings: dict[str, str] = Field(description="GOTRUE_SMS_<PROVIDER>_<key> literals (identifiers, never secrets).")
    secretSetting: str = Field(pattern=_ENV_NAME, description="GOTRUE_SMS_<PROVIDER>_<this> reads the secret.")
    secret: str = Field(pattern=_SECRET_KEY, description="Catalog secret of the provider's token or key.")
    otpLength: int = Field(ge=6, le=10)
    otpExpirySeconds: int = Field(ge=30, le=3600)


class Auth(_Strict):
    signupEnabled: bool
    emailAutoconfirm: bool
    jwtExpirySeconds: int = Field(ge=300, le=604800)
    smtp: Smtp | None = Field(description="Mail server; null disables email sending.")
    callbackUrl: str = Field(pattern=r"^https://", description="Where providers send users back to.")
    providers: list[AuthProvider] = Field(description="Enabled external sign-in providers.")
    mfa: Mfa
    emailTemplates: dict[str, str] = Field(description="GOTRUE_MAILER_TEMPLATES_<key> -> https URL.",
                                           json_schema_extra={"propertyNames": {"pattern": _ENV_NAME}})
    rateLimits: RateLimits
    sessions: Sessions
    anonymousUsers: bool
    sms: Sms | None = Field(description="Phone sign-in; null: off.")


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
    _ARN: pattern_error("an AWS ARN", "arn:<partition>:<service>:<region>:<12-digit account>:<resource>"),
    _DNS_NAME: pattern_error("a DNS name", "lowercase letters, digits, '.' and '-'"),
    _SECRET_KEY: pattern_error("a secret key name", "lowercase letters, digits and '-', up to 42 characters"),
    _HTTPS: pattern_error("an https URL", "start it with https://"),
    _DATABASE_NAME: pattern_error("a database name", "a letter or '_', then letters, digits or '_', up to 63"),
    _DURATION: pattern_error("a duration", "a whole number with s, m or h, such as 1h"),
    _VERSION: pattern_error("a version label", "up to 16 lowercase letters and digits"),
    _SSL_POLICY: pattern_error("a TLS 1.2+ ELB security policy", "such as ELBSecurityPolicy-TLS13-1-2-2021-06"),
    _PARAMETER: pattern_error("an SSM parameter name", "a path such as /acme-prod/infra/database-host"),
    _ENV_VARIABLE: pattern_error("an environment variable name", "a letter or '_', then letters, digits or '_'"),
    _SECONDS: pattern_error("a duration in seconds", "a whole number followed by s, such as 3600s, or empty"),
    _WAF_ACL_NAME: pattern_error("a web ACL name", "up to 128 letters, digits, '_' and '-', or empty"),
    _ENV_NAME: pattern_error("an environment variable name", "capital letters, digits and '_' only"),
}
