"""The shape of charts/supabase's values: the model `values.schema.json` is generated from.

A wrong `helm install -f` then fails on the schema before anything renders; `engine.targets.helm`
fills this model and `supa-engine schema` writes its JSON Schema into the chart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from engine.catalog import COMPONENT_NAMES
from engine.config.model.base import CIDR_PATTERN, CPU_PATTERN, MEMORY_PATTERN

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
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Environment variable name.")
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
    siteUrl: str = Field(pattern=r"^https://", description="Default redirect after sign-in.")
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
    name: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", description="Database name.")
    tls: DatabaseTls


class StoreServiceAccount(_Strict):
    name: str = Field(min_length=1, description="Service account whose IRSA role reads Secrets Manager.")
    namespace: str = Field(min_length=1, description="Its namespace (External Secrets Operator's).")


class SecretStore(_Strict):
    name: str = Field(min_length=1, pattern=_DNS_NAME, description="ClusterSecretStore of Secrets Manager.")
    parametersName: str = Field(min_length=1, pattern=_DNS_NAME,
                                description="ClusterSecretStore of SSM Parameter Store (AWS-assigned facts).")
    serviceAccount: StoreServiceAccount
    refreshInterval: str = Field(pattern=r"^[0-9]+[smh]$", description="How often ESO re-reads each secret.")


class SecretItem(_Strict):
    remoteKey: str = Field(min_length=1, description="Secrets Manager name (never a value).")
    version: str = Field(pattern=r"^[a-z0-9]{1,16}$",
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
    sslPolicy: str = Field(pattern=r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)",
                           description="TLS 1.2+ listener policy.")
    inboundCidrs: list[str] = Field(min_length=1, json_schema_extra={"items": {"pattern": _CIDR}},
                                    description="Sources allowed to reach the load balancer.")
    wafAclName: str = Field(pattern=r"^([A-Za-z0-9_-]{1,128})?$",
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
    envName: str = Field(pattern=r"^[A-Z0-9_]+$", description="GoTrue's name: GOTRUE_EXTERNAL_<envName>_*.")
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
    timebox: str = Field(pattern=r"^([0-9]+s)?$", description="Go duration; empty: sessions never time out.")
    inactivityTimeout: str = Field(pattern=r"^([0-9]+s)?$", description="Go duration; empty: none.")
    refreshTokenRotation: bool
    refreshTokenReuseInterval: int = Field(ge=0, description="Seconds.")


class Sms(_Strict):
    provider: Literal["twilio", "twilio_verify", "messagebird", "textlocal"]
    settings: dict[str, str] = Field(description="GOTRUE_SMS_<PROVIDER>_<key> literals (identifiers, never secrets).")
    secretSetting: str = Field(pattern=r"^[A-Z_]+$", description="GOTRUE_SMS_<PROVIDER>_<this> reads the secret.")
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
                                           json_schema_extra={"propertyNames": {"pattern": "^[A-Z_]+$"}})
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
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
