"""Compile resolved facts into the values of the project's own chart, `charts/supabase`.

A pure function of `Resolved` and the few facts only the Terraform stacks know (`InfraOutputs`);
the values name Secrets Manager entries, never secret values (README: "Chart values").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.catalog import COMPONENT_NAMES, SMS_SECRET, env_secret_name, provider_secret
from engine.config.model.auth import PROVIDERS, SMS_SECRET_SETTING, SMS_SETTINGS, callback_url
from engine.config.model.supabase import Auth as AuthConfig
from engine.identities import SECRET_STORE, STORAGE
from engine.resolve import Resolved, service_of
from engine.targets.policies import compile_policies
from engine.targets.values import (
    AccessLogs,
    Auth,
    AuthProvider,
    Bootstrap,
    ChartValues,
    Component,
    Components,
    Database,
    DatabaseTls,
    EnvVar,
    Ingress,
    Mfa,
    NetworkPolicy,
    Platform,
    RateLimits,
    Replicas,
    Resources,
    SecretItem,
    Secrets,
    SecretStore,
    Sessions,
    Sms,
    Smtp,
    Storage,
    StoreServiceAccount,
)

SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
DEFAULT_SECRET_VERSION = "v0"


DATABASE_HOST_PARAMETER = "database-host"
MASTER_SECRET_PARAMETER = "database-master-secret-arn"
WAF_ACL_PARAMETER = "waf-acl-arn"


def published_parameters(resolved: Resolved) -> tuple[str, ...]:
    """The keys of the SSM parameters the data stack publishes (the web ACL's only with the WAF on)."""
    keys = (DATABASE_HOST_PARAMETER, MASTER_SECRET_PARAMETER)
    return (*keys, WAF_ACL_PARAMETER) if resolved.config.security.waf.enabled else keys


def infra_parameter(resolved: Resolved, key: str) -> str:
    """SSM parameter the data stack publishes an AWS-assigned fact under: `/<prefix>/infra/<key>`."""
    return f"{infra_parameter_path(resolved)}/{key}"


def infra_parameter_path(resolved: Resolved) -> str:
    return f"/{resolved.prefix}/infra"


def waf_acl_name(resolved: Resolved) -> str:
    """The web ACL's name (chosen by the engine; its ARN's id part is AWS's)."""
    return f"{resolved.prefix}-api"


def database_arn(resolved: Resolved) -> str:
    """The RDS instance's ARN: every part is the config's, so it is known before apply."""
    project = resolved.config.project
    return f"arn:{resolved.partition}:rds:{project.region}:{project.account_id}:db:{resolved.names['database']}"


@dataclass(frozen=True)
class InfraOutputs:
    """Facts of the Terraform stacks the chart needs that are not derivable from the config alone.

    What AWS assigns at creation (the database endpoint, the master secret's ARN, the web ACL's
    id) is never here: the chart reads it at runtime (README: "Argo CD delivery").
    `secret_versions` maps a catalog secret name to its current Secrets Manager VersionId
    (metadata, not a value); the deploy step fills it so rotations roll pods. Missing entries
    use DEFAULT_SECRET_VERSION. `rds_ca_bundle` is the public regional RDS CA bundle (PEM); when
    empty, the ConfigMap `rds-ca-bundle` must be created by the workloads stack.
    """

    region: str
    database_port: int
    storage_bucket: str
    storage_role_arn: str
    access_log_bucket: str
    database_name: str = "postgres"
    rds_ca_bundle: str = ""
    secret_versions: Mapping[str, str] = field(default_factory=dict)


def derived_outputs(resolved: Resolved) -> InfraOutputs:
    """The outputs as the config determines them: what synth writes for review and for Argo CD.

    Every name here is the one the stacks create (bucket, log bucket, role ARN), so the values
    are complete before any stack exists.
    """
    iam = f"arn:{resolved.partition}:iam::{resolved.config.project.account_id}"
    return InfraOutputs(
        region=resolved.config.project.region,
        database_port=5432,
        storage_bucket=resolved.names["storage_bucket"],
        storage_role_arn=f"{iam}:role/{resolved.prefix}-{STORAGE.role_suffix}",
        access_log_bucket=resolved.names["log_bucket"],
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
            hostParameter=infra_parameter(resolved, DATABASE_HOST_PARAMETER), port=infra.database_port,
            name=infra.database_name,
            tls=DatabaseTls(caConfigMap="rds-ca-bundle", caKey="ca-bundle.pem", caBundle=infra.rds_ca_bundle),
        ),
        secrets=Secrets(
            store=SecretStore(
                name=f"{resolved.prefix}-supabase",
                parametersName=f"{resolved.prefix}-parameters",
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
            databaseArn=database_arn(resolved),
            resources=Resources(cpu="100m", memory="256Mi", cpuLimit="500m"),
        ),
        ingress=Ingress(
            enabled=True,
            className="alb",
            loadBalancerName=resolved.names["load_balancer"],
            certificateArn=security.certificate_arn,
            sslPolicy=SSL_POLICY,
            inboundCidrs=list(security.ingress_cidrs),
            wafAclName=waf_acl_name(resolved) if security.waf.enabled else "",
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
        auth=_auth(supabase.auth, supabase.domain,
                   Smtp(host=smtp.host, port=smtp.port, user=smtp.user, sender=smtp.sender,
                        senderName=smtp.sender_name) if smtp else None),
        components=Components(**{name: _component(resolved, name) for name in COMPONENT_NAMES}),
        networkPolicies=[NetworkPolicy(name=p["metadata"]["name"], annotations=p["metadata"].get("annotations", {}),
                                       spec=p["spec"]) for p in compile_policies(resolved)],
    )
    return values.model_dump(mode="json")


def _auth(auth: AuthConfig, domain: str, smtp: Smtp | None) -> Auth:
    """GoTrue's settings; secrets appear only as catalog names (README: "Sign-in and auth settings")."""
    sessions, limits, sms = auth.sessions, auth.rate_limits, auth.sms
    return Auth(
        signupEnabled=auth.signup_enabled,
        emailAutoconfirm=auth.email_autoconfirm,
        jwtExpirySeconds=auth.jwt_expiry_seconds,
        smtp=smtp,
        callbackUrl=callback_url(domain),
        providers=[AuthProvider(envName=PROVIDERS[name].env, clientId=p.client_id, url=p.url or "",
                                secret=provider_secret(name).name)
                   for name, p in sorted(auth.providers.items()) if p.enabled],
        mfa=Mfa(totp=auth.mfa.totp, maxEnrolledFactors=auth.mfa.max_enrolled_factors),
        emailTemplates={key.upper(): url for key, url in auth.email_templates.model_dump(exclude_none=True).items()},
        rateLimits=RateLimits(emailSent=limits.email_sent_per_hour, smsSent=limits.sms_sent_per_hour,
                              verify=limits.verify_per_5_minutes, tokenRefresh=limits.token_refresh_per_5_minutes,
                              otp=limits.otp_per_5_minutes, anonymousUsers=limits.anonymous_sign_ins_per_hour),
        sessions=Sessions(
            timebox=f"{sessions.timebox_seconds}s" if sessions.timebox_seconds else "",
            inactivityTimeout=f"{sessions.inactivity_timeout_seconds}s" if sessions.inactivity_timeout_seconds else "",
            refreshTokenRotation=sessions.refresh_token_rotation,
            refreshTokenReuseInterval=sessions.refresh_token_reuse_seconds,
        ),
        anonymousUsers=auth.anonymous_sign_ins,
        sms=Sms(provider=sms.provider,
                settings={env: getattr(sms, field) for field, env in SMS_SETTINGS[sms.provider].items()},
                secretSetting=SMS_SECRET_SETTING[sms.provider], secret=SMS_SECRET.name,
                otpLength=sms.otp_length, otpExpirySeconds=sms.otp_expiry_seconds) if sms else None,
    )


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
        env=[EnvVar(name=key, value=value, secret=None) if isinstance(value, str)
             else EnvVar(name=key, value=None, secret=env_secret_name(value.secret))
             for key, value in sorted(getattr(resolved.config.supabase.components, name).env.items())],
    )
