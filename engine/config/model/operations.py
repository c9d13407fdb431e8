"""`autoscaling`, `observability`, `delivery` and `state`: how the platform runs and is shipped."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from engine.config.model.base import (
    EMAIL_PATTERN,
    HTTPS_PATTERN,
    AwsRegion,
    Pattern,
    PlainText,
    Section,
    Unique,
    invalid,
    pattern_error,
)
from engine.config.model.network import LogRetention
from engine.config.model.storage import BucketName


class Scaling(Section):
    min_replicas: int = Field(1, ge=1, le=100, description="Fewest pods (production needs >= 2).", examples=[2])
    max_replicas: int = Field(3, ge=1, le=100, description="Most pods (>= min_replicas).", examples=[6])
    cpu_target_percent: int = Field(70, ge=10, le=95, description="CPU utilisation the autoscaler aims for.",
                                    examples=[70])


_EXAMPLE = {"min_replicas": 2, "max_replicas": 6, "cpu_target_percent": 60}


class Autoscaling(Section):
    default: Scaling = Field(Scaling(), description="Applies to every component without its own entry.")
    kong: Scaling | None = Field(None, description="Overrides `default` for kong.", examples=[_EXAMPLE])
    auth: Scaling | None = Field(None, description="Overrides `default` for auth.", examples=[_EXAMPLE])
    rest: Scaling | None = Field(None, description="Overrides `default` for rest.", examples=[_EXAMPLE])
    realtime: Scaling | None = Field(None, description="Overrides `default` for realtime.", examples=[_EXAMPLE])
    storage: Scaling | None = Field(None, description="Overrides `default` for storage.", examples=[_EXAMPLE])
    imgproxy: Scaling | None = Field(None, description="Overrides `default` for imgproxy.", examples=[_EXAMPLE])
    meta: Scaling | None = Field(None, description="Overrides `default` for meta.", examples=[_EXAMPLE])
    studio: Scaling | None = Field(None, description="Overrides `default` for studio.", examples=[_EXAMPLE])
    functions: Scaling | None = Field(None, description="Overrides `default` for functions.", examples=[_EXAMPLE])
    analytics: Scaling | None = Field(None, description="Overrides `default` for analytics.", examples=[_EXAMPLE])

    def for_component(self, name: str) -> Scaling:
        specific: Scaling | None = getattr(self, name)
        return specific or self.default


_EMAIL = re.compile(EMAIL_PATTERN)
_HTTPS = re.compile(HTTPS_PATTERN)


def _alarm_endpoint(value: str) -> str:
    if _EMAIL.fullmatch(value) or _HTTPS.fullmatch(value):
        return value
    raise invalid(f"{value!r} is neither an email address nor an https:// URL",
                  "alarms go to email addresses or HTTPS webhooks")


class Alarms(Section):
    """Thresholds of the alarms sent to the environment's topic (README: "Alarms and runbook")."""

    api_5xx_percent: float = Field(5.0, gt=0, le=100, description="Load balancer 5xx responses (target and "
                                   "ELB) as a percentage of requests over 5 minutes.", examples=[2.0])
    target_latency_seconds: float = Field(2.0, gt=0, le=60, description="p99 target response time over 5 "
                                          "minutes, three periods in a row.", examples=[1.0])
    pod_restarts: int = Field(3, ge=1, le=100, description="Container restarts of one component within 5 "
                              "minutes (Container Insights).", examples=[3])
    pod_not_ready_minutes: int = Field(15, ge=5, le=120, multiple_of=5, description="Minutes a component may "
                                       "have a pod that is not Ready before the alarm fires.", examples=[10])
    database_cpu_percent: int = Field(80, ge=10, le=100, description="Database CPU, 15 minutes.", examples=[75])
    database_free_storage_percent: int = Field(10, ge=1, le=50, description="Free storage as a percentage of "
                                               "the allocated storage.", examples=[15])
    database_connections_percent: int = Field(80, ge=10, le=100, description="Connections as a percentage of "
                                              "the instance class's default max_connections.", examples=[80])
    waf_blocked_requests: int = Field(1000, ge=1, description="Requests WAF blocks in 5 minutes.",
                                      examples=[500])


class Observability(Section):
    log_retention_days: LogRetention = Field(
        365, description="Days to keep control-plane and application logs (at least a year).", examples=[731],
    )
    container_insights: bool = Field(True, description="CloudWatch Container Insights for the cluster.",
                                     examples=[True])
    alarm_endpoints: Annotated[tuple[Annotated[str, AfterValidator(_alarm_endpoint)], ...], Unique] = Field(
        (), description="Where alarms are sent: email addresses or https:// webhooks.",
        examples=[["oncall@example.com", "https://hooks.example.com/alarms"]],
    )
    alarms: Alarms = Field(Alarms(), description="Alarm thresholds; the defaults suit most environments.",
                           examples=[{"api_5xx_percent": 2.0, "target_latency_seconds": 1.0}])


GitUrl = Annotated[str, Pattern(
    r"(https://[A-Za-z0-9.-]+(:[0-9]+)?/[^\s@]+|ssh://[A-Za-z0-9._-]+@[A-Za-z0-9.-]+(:[0-9]+)?/[^\s@]+"
    r"|git@[A-Za-z0-9.-]+:[^\s@]+)",
    "a Git repository URL without credentials",
    "use https://host/org/repo.git or git@host:org/repo.git; Argo CD keeps credentials in its repository "
    "secrets, never in the URL",
)]


class ArgoCd(Section):
    repo_url: GitUrl = Field(description="Repository Argo CD pulls the chart and values from.",
                             examples=["https://github.com/acme/platform.git"])
    path: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._/-]+$",
                      json_schema_extra={"patternErrorMessage": pattern_error(
                          "a repository path", "letters, digits, '.', '_', '-' and '/' only, such as out/prod")},
                      description="Directory of the synthesized output in that repository.",
                      examples=["out/prod"])
    revision: PlainText = Field("main", min_length=1, max_length=256, description="Branch, tag or commit to follow.",
                          examples=["main"])


class Delivery(Section):
    mode: Literal["helm", "argocd"] = Field(
        "helm", description="`helm`: Terraform installs the release (needs reach to the cluster API). "
        "`argocd`: synth writes an Argo CD Application instead.", examples=["argocd"],
    )
    argocd: ArgoCd | None = Field(
        None, description="Required when `mode` is `argocd`.",
        examples=[{"repo_url": "https://github.com/acme/platform.git", "path": "out/prod", "revision": "main"}],
    )


class State(Section):
    bucket: BucketName | None = Field(
        None, description="S3 bucket for Terraform state; `<name>-<environment>-tfstate-<region>` when omitted.",
        examples=["acme-terraform-state"],
    )
    region: AwsRegion | None = Field(None, description="Region of the state bucket; the project's when omitted.",
                                     examples=["eu-west-1"])
    key_prefix: str = Field(
        "supa-engine", min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$",
        json_schema_extra={"patternErrorMessage": pattern_error(
            "a state key prefix", "letters, digits, '.', '_' and '-', in parts joined by single '/'")},
        description="Prefix of state keys: `<prefix>/<environment>/<stack>.tfstate`.", examples=["platform"],
    )
