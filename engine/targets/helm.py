"""Compile resolved facts into the values of the project's own chart, `charts/supabase`.

A pure function of `Resolved` and the few facts only the Terraform stacks know (`InfraOutputs`);
the values name Secrets Manager entries, never secret values (README: "Chart values").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.catalog import COMPONENT_NAMES
from engine.errors import EngineError
from engine.identities import SECRET_STORE, STORAGE
from engine.resolve import Resolved, service_of
from engine.targets.policies import compile_policies
from engine.targets.values import (
    AccessLogs,
    Auth,
    Bootstrap,
    ChartValues,
    Component,
    Components,
    Database,
    DatabaseTls,
    Ingress,
    NetworkPolicy,
    Platform,
    Replicas,
    Resources,
    SecretItem,
    Secrets,
    SecretStore,
    Smtp,
    Storage,
    StoreServiceAccount,
)

SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
DEFAULT_SECRET_VERSION = "v0"


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
            tagOnlyImages=config.project.tier != "production" or security.accept_tag_only_images,
        ),
        database=Database(
            host=infra.database_host, port=infra.database_port, name=infra.database_name,
            tls=DatabaseTls(caConfigMap="rds-ca-bundle", caKey="ca-bundle.pem", caBundle=infra.rds_ca_bundle),
        ),
        secrets=Secrets(
            store=SecretStore(
                name=f"{resolved.prefix}-supabase",
                serviceAccount=StoreServiceAccount(name=SECRET_STORE.name, namespace=SECRET_STORE.namespace),
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
    enabled = resolved.service(name)
    # A disabled component keeps the facts resolve derives for it, so the values stay complete and valid.
    service = enabled or service_of(resolved.config, name)
    scaling = service.scaling
    return Component(
        enabled=enabled is not None,
        image=service.image,
        port=service.port,
        resources=Resources(cpu=service.cpu, memory=service.memory, cpuLimit=service.cpu_limit),
        replicas=Replicas(min=scaling.min_replicas, max=max(scaling.min_replicas, scaling.max_replicas),
                          cpuTargetPercent=scaling.cpu_target_percent),
    )
