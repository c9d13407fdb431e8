"""`security`: keys, who may reach the public API, WAF and certificates. Encryption is not optional."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from engine.config.model.base import IngressCidr, OperatorCidr, Pattern, Section, Unique

CertificateArn = Annotated[str, Pattern(
    r"arn:aws(-cn|-us-gov)?:acm:[a-z]{2}(-gov)?-[a-z]+-[0-9]:[0-9]{12}:certificate/[0-9a-f-]{36}",
    "an ACM certificate ARN",
    "for example arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>",
)]
RegistryHost = Annotated[str, Pattern(
    r"([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z0-9]+(:[0-9]+)?",
    "a registry host name",
    "for example public.ecr.aws or 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
)]

RATE_LIMIT_MIN = 100
RATE_LIMIT_MAX = 100_000
DEFAULT_REGISTRIES = ("docker.io", "public.ecr.aws", "ghcr.io", "quay.io")


class Waf(Section):
    enabled: bool = Field(True, description="Attach a WAF web ACL with AWS managed rule groups to the API.",
                          examples=[True])
    # Above ~333 requests a second from one address the limit no longer stops a flood.
    rate_limit: int = Field(
        2000, ge=RATE_LIMIT_MIN, le=RATE_LIMIT_MAX,
        description=f"Requests per 5 minutes from one IP before WAF blocks it ({RATE_LIMIT_MIN}-{RATE_LIMIT_MAX}).",
        examples=[1000],
    )


class Studio(Section):
    allowed_cidrs: Annotated[tuple[OperatorCidr, ...], Unique] = Field(
        (),
        description="Studio is private (reach it through a port-forward or VPN) unless public operator "
        "CIDRs are listed here; then the load balancer serves it to those sources only.",
        examples=[["203.0.113.0/24"]],
    )


class Security(Section):
    certificate_arn: CertificateArn = Field(
        description="ACM certificate for the public domain, in the project's region (HTTPS only).",
        examples=["arn:aws:acm:eu-west-1:123456789012:certificate/0f2b6c1e-2a6d-4b8a-9d3e-5c7f1a2b3c4d"],
    )
    kms_rotation_days: int = Field(
        365, ge=90, le=2560, description="Automatic rotation period of every KMS key, in days.", examples=[180],
    )
    ingress_cidrs: Annotated[tuple[IngressCidr, ...], Unique] = Field(
        ("0.0.0.0/0",), min_length=1,
        description="Sources allowed to reach the public API on 443. The API is public by design; narrow "
        "it for internal platforms.",
        examples=[["0.0.0.0/0"]],
    )
    waf: Waf = Field(Waf(), description="Web application firewall in front of the API.")
    studio: Studio = Field(Studio(), description="Access to the Studio dashboard.")
    accept_tag_only_images: bool = Field(
        False,
        description="Tier production pulls every image by digest (`image.digest` on each component and on "
        "`database.bootstrap_image`; get one with `crane digest IMAGE:TAG`). `true` accepts images pinned by "
        "tag alone; checkov's digest check is then skipped with that reason.",
        examples=[False],
    )
    image_registries: Annotated[tuple[RegistryHost, ...], Unique] = Field(
        DEFAULT_REGISTRIES, min_length=1,
        description="Registries that images may come from; image overrides elsewhere are refused.",
        examples=[["public.ecr.aws", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"]],
    )
