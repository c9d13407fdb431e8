"""Compile resolved facts into the values of the project's own chart, `charts/supabase`.

The chart owns the templates; this module owns the *shape* of the values (the pydantic model
`ChartValues`, from which `charts/supabase/values.schema.json` is generated, so a wrong
`helm install -f` fails before anything renders) and the *content* (`compile_values`).

`compile_values` is a pure function of two inputs:

* `Resolved`: everything the config decides (components, images, resources, scaling, domain,
  auth settings, CIDRs, secret names);
* `InfraOutputs`: the few facts only the Terraform stacks know (the RDS endpoint, IAM role and
  WAF ARNs, the RDS-managed master secret). Terraform's `helm_release` passes the real ones;
  `placeholder_outputs` derives what it can from the config and marks what AWS assigns at
  creation with the word `placeholder`, for the review copy rendered by `synth`.

Secret *values* never appear here: the values only name Secrets Manager entries, which
External Secrets syncs into Kubernetes Secrets. Each synced Secret is named
`<secret>-<version>`, where `version` is a short token of the Secrets Manager version (metadata,
not the value; see `InfraOutputs.secret_versions`). Rotating a secret changes the token, so the
Secret's name changes, so the pod template of every component that reads it changes, and
Kubernetes rolls exactly those pods, which cannot start until the new Secret has synced. No
reloader controller is involved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.catalog import BY_NAME, COMPONENT_NAMES
from engine.errors import EngineError
from engine.identities import EXTERNAL_SECRETS, STORAGE, SUPABASE_NAMESPACE
from engine.resolve import Resolved, Scaling, Service
from engine.targets.policies import compile_policies

NAMESPACE = SUPABASE_NAMESPACE
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
DEFAULT_SECRET_VERSION = "v0"

# Login role of each component that connects to the database. Each API-facing service has its own
# role; meta (and Studio through meta) and analytics need the broad supabase_admin; functions hand
# the URL to user code, so they get the least privileged role, authenticator (it can only SET ROLE
# to anon, authenticated and service_role).
DATABASE_ROLES: Mapping[str, str] = {
    "auth": "supabase_auth_admin",
    "rest": "authenticator",
    "realtime": "supabase_realtime_admin",
    "storage": "supabase_storage_admin",
    "meta": "supabase_admin",
    "studio": "supabase_admin",
    "functions": "authenticator",
    "analytics": "supabase_admin",
}


def role_secret(role: str) -> str:
    """Catalog name of the secret holding the password of a database login role."""
    return "db-" + role.replace("_", "-")


# --------------------------------------------------------------------------------------------
# The values model (source of values.schema.json)
# --------------------------------------------------------------------------------------------

_CPU = r"^[0-9]+(\.[0-9]+)?m?$"
_MEMORY = r"^[0-9]+(Ki|Mi|Gi|Ti)$"
# repository:tag[@sha256:digest], always with a tag (the config model already refuses `latest`;
# Go's and Rust's regex engines have no look-ahead to refuse it here too).
_IMAGE = r"^[a-z0-9.:/_-]+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[0-9a-f]{64})?$"
_ARN = r"^arn:aws(-cn|-us-gov)?:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$"
_CIDR = r"^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$"
_DNS_NAME = r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$"
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


class Component(_Strict):
    enabled: bool = Field(description="Render this component.")
    image: str = Field(pattern=_IMAGE, description="Pinned image: repository:tag[@sha256:digest].")
    port: int = Field(ge=1, le=65535, description="Container and Service port.")
    resources: Resources
    replicas: Replicas


class Components(_Strict):
    kong: Component
    auth: Component
    rest: Component
    realtime: Component
    storage: Component
    imgproxy: Component
    meta: Component
    studio: Component
    functions: Component
    analytics: Component


class Platform(_Strict):
    prefix: str = Field(min_length=1, pattern=_DNS_NAME, description="<project>-<environment>.")
    region: str = Field(min_length=1, description="AWS region.")
    domain: str = Field(min_length=1, pattern=_DNS_NAME, description="Public API host name.")
    siteUrl: str = Field(pattern=r"^https://", description="Default redirect after sign-in.")
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
    name: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", description="Database name.")
    tls: DatabaseTls


class StoreServiceAccount(_Strict):
    name: str = Field(min_length=1, description="Service account whose IRSA role reads Secrets Manager.")
    namespace: str = Field(min_length=1, description="Its namespace (External Secrets Operator's).")


class SecretStore(_Strict):
    name: str = Field(min_length=1, pattern=_DNS_NAME, description="ClusterSecretStore name.")
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
    sslPolicy: str = Field(pattern=r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)",
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
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def values_schema_text() -> str:
    return json.dumps(values_schema(), indent=2, sort_keys=True) + "\n"


def write_values_schema(chart_dir: Path) -> Path:
    path = chart_dir / "values.schema.json"
    path.write_text(values_schema_text(), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Compilation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InfraOutputs:
    """Names and ARNs exported by the Terraform stacks that the chart needs.

    `secret_versions` maps a catalog secret name to its current Secrets Manager VersionId
    (metadata, not a value); the deploy step fills it so rotations roll pods. Missing entries
    use DEFAULT_SECRET_VERSION. `rds_ca_bundle` is the public regional RDS CA bundle (PEM); when
    empty, the ConfigMap `rds-ca-bundle` must be created by the workloads stack.
    """

    region: str
    database_host: str
    database_port: int
    storage_bucket: str
    storage_role_arn: str
    rds_master_secret_arn: str
    access_log_bucket: str
    waf_acl_arn: str | None = None
    database_name: str = "postgres"
    rds_ca_bundle: str = ""
    secret_versions: Mapping[str, str] = field(default_factory=dict)


def placeholder_outputs(resolved: Resolved) -> InfraOutputs:
    """Deterministic stand-ins for the review copy rendered before any stack exists.

    Names derivable from the config are the real ones (bucket, log bucket, role ARNs); what AWS
    assigns at creation (the database endpoint's suffix, ARN suffixes) carries the word
    `placeholder`. Terraform's release of the chart passes the real values.
    """
    region = resolved.config.project.region
    prefix = resolved.prefix
    account = f"{resolved.partition}:{{service}}:{region}:{resolved.config.project.account_id}"
    iam = f"arn:{resolved.partition}:iam::{resolved.config.project.account_id}"
    waf = resolved.config.security.waf.enabled
    return InfraOutputs(
        region=region,
        database_host=f"{resolved.names['database']}.placeholder.{region}.rds.amazonaws.com",
        database_port=5432,
        storage_bucket=resolved.names["storage_bucket"],
        storage_role_arn=f"{iam}:role/{prefix}-{STORAGE.role_suffix}",
        rds_master_secret_arn="arn:" + account.format(service="secretsmanager") + ":secret:rds!db-placeholder",
        access_log_bucket=resolved.names["log_bucket"],
        waf_acl_arn=("arn:" + account.format(service="wafv2") + f":regional/webacl/{prefix}-api/placeholder"
                     if waf else None),
    )


def version_token(version_id: str) -> str:
    """A short, name-safe token of a Secrets Manager VersionId (a UUID; not secret)."""
    return hashlib.sha256(version_id.encode()).hexdigest()[:10]


def compile_values(resolved: Resolved, infra: InfraOutputs) -> dict[str, Any]:
    """The complete values of charts/supabase for one environment, as plain data."""
    config = resolved.config
    security = config.security
    supabase = config.supabase
    smtp = supabase.auth.smtp
    values = ChartValues(
        platform=Platform(
            prefix=resolved.prefix,
            region=infra.region,
            domain=supabase.domain,
            siteUrl=supabase.site_url or f"https://{supabase.domain}",
            redirectUrls=list(supabase.redirect_urls),
        ),
        database=Database(
            host=infra.database_host, port=infra.database_port, name=infra.database_name,
            tls=DatabaseTls(caConfigMap="rds-ca-bundle", caKey="ca-bundle.pem", caBundle=infra.rds_ca_bundle),
        ),
        secrets=Secrets(
            store=SecretStore(
                name=f"{resolved.prefix}-supabase",
                serviceAccount=StoreServiceAccount(name=EXTERNAL_SECRETS.name, namespace=EXTERNAL_SECRETS.namespace),
                refreshInterval="1h",
            ),
            items={
                secret.name: SecretItem(
                    remoteKey=resolved.secret_name(secret),
                    version=version_token(infra.secret_versions[secret.name])
                    if secret.name in infra.secret_versions else DEFAULT_SECRET_VERSION,
                )
                for secret in resolved.secrets
            },
        ),
        bootstrap=Bootstrap(
            enabled=True,
            image=resolved.bootstrap_image,
            masterSecretArn=infra.rds_master_secret_arn,
            resources=Resources(cpu="100m", memory="256Mi", cpuLimit="500m"),
        ),
        ingress=Ingress(
            enabled=True,
            className="alb",
            loadBalancerName=resolved.names["load_balancer"],
            certificateArn=security.certificate_arn,
            sslPolicy=SSL_POLICY,
            inboundCidrs=list(security.ingress_cidrs),
            wafAclArn=_waf_acl(resolved, infra),
            accessLogs=AccessLogs(bucket=infra.access_log_bucket, prefix=f"alb/{resolved.prefix}"),
            tags=dict(resolved.tags),
            studioCidrs=list(security.studio.allowed_cidrs) if resolved.service("studio") else [],
        ),
        storage=Storage(
            bucket=infra.storage_bucket,
            region=infra.region,
            roleArn=infra.storage_role_arn,
            fileSizeLimitBytes=config.storage.upload_size_limit_mb * 1024 * 1024,
        ),
        auth=Auth(
            signupEnabled=supabase.auth.signup_enabled,
            emailAutoconfirm=supabase.auth.email_autoconfirm,
            jwtExpirySeconds=supabase.auth.jwt_expiry_seconds,
            smtp=Smtp(host=smtp.host, port=smtp.port, user=smtp.user, sender=smtp.sender,
                      senderName=smtp.sender_name) if smtp else None,
        ),
        components=Components(**{name: _component(resolved, name) for name in COMPONENT_NAMES}),
        networkPolicies=[NetworkPolicy(name=p["metadata"]["name"], annotations=p["metadata"].get("annotations", {}),
                                       spec=p["spec"]) for p in compile_policies(resolved)],
    )
    return values.model_dump(mode="json")


def _waf_acl(resolved: Resolved, infra: InfraOutputs) -> str:
    if not resolved.config.security.waf.enabled:
        return ""
    if not infra.waf_acl_arn:
        raise EngineError("security.waf.enabled is true but the infrastructure outputs carry no WAF web ACL ARN",
                          "apply the cluster stack first, or pass placeholder_outputs() for a review render")
    return infra.waf_acl_arn


def _component(resolved: Resolved, name: str) -> Component:
    service = resolved.service(name)
    enabled = service is not None
    if service is None:  # disabled: the catalog's defaults keep the values complete and valid
        catalog = BY_NAME[name]
        bounds = resolved.config.autoscaling.for_component(name)
        service = Service(name=name, port=catalog.port, image=f"{catalog.repository}:{catalog.tag}",
                          cpu=catalog.cpu, memory=catalog.memory, cpu_limit="1",
                          scaling=Scaling(bounds.min_replicas, bounds.max_replicas, bounds.cpu_target_percent),
                          uses_database=catalog.uses_database)
    scaling = service.scaling
    return Component(
        enabled=enabled,
        image=service.image,
        port=service.port,
        resources=Resources(cpu=service.cpu, memory=service.memory, cpuLimit=service.cpu_limit),
        replicas=Replicas(min=scaling.min_replicas, max=max(scaling.min_replicas, scaling.max_replicas),
                          cpuTargetPercent=scaling.cpu_target_percent),
    )
