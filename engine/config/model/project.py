"""`project`: who and where. Its name and environment prefix every AWS resource name."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from engine.config.model.base import AccountId, AwsRegion, DnsLabel, Section, invalid

# Derived names are `<name>-<environment>-<suffix>`; resolve checks them against AWS limits,
# and these bounds keep the longest of them (the load balancer's, 32 characters) in range.
NAME_MAX = 12
ENVIRONMENT_MAX = 10
RESERVED_TAGS = ("Project", "Environment", "ManagedBy")

_TAG_TEXT = re.compile(r"[\w .:/=+\-@]*", re.UNICODE)
# Tag prefixes that AWS or a controller reads as ownership: the load balancer controller manages
# (and deletes) security groups and load balancers that carry its or the cluster's tags.
CONTROLLER_TAG_PREFIXES = ("aws:", "elbv2.k8s.aws/", "ingress.k8s.aws/", "service.k8s.aws/", "kubernetes.io/",
                           "k8s.io/", "eks:", "eks.amazonaws.com/", "karpenter.sh/", "karpenter.k8s.aws/")


def _tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > 40:
        raise invalid(f"{len(tags)} tags given; at most 40 leave room for the engine's own",
                      "drop tags that do not drive cost allocation or ownership")
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or not _TAG_TEXT.fullmatch(key):
            raise invalid(f"tag key {key!r} breaks AWS tag rules",
                          "1-128 letters, digits, spaces and _ . : / = + - @ (no line breaks or tabs)")
        owner = next((p for p in CONTROLLER_TAG_PREFIXES if key.lower().startswith(p)), None)
        if owner is not None:
            raise invalid(f"tag key {key!r} uses the prefix {owner!r}, which AWS or a cluster controller reads "
                          "as ownership", "choose a key outside the aws:, kubernetes.io/ and controller prefixes")
        if key in RESERVED_TAGS:
            raise invalid(f"tag key {key!r} is set by the engine", f"the engine sets {', '.join(RESERVED_TAGS)}")
        if len(value) > 256 or not _TAG_TEXT.fullmatch(value):
            raise invalid(f"tag {key!r} has a value that breaks AWS tag rules",
                          "at most 256 letters, digits, spaces and _ . : / = + - @")
    return tags


def partition_of(region: str) -> str:
    """The ARN partition of a region."""
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"


class Project(Section):
    name: Annotated[DnsLabel, Field(
        min_length=2, max_length=NAME_MAX,
        description=f"Short name of the platform (DNS label, 2-{NAME_MAX} characters); prefixes every AWS name.",
        examples=["acme"],
    )]
    environment: Annotated[DnsLabel, Field(
        min_length=2, max_length=ENVIRONMENT_MAX,
        description="Environment name; defaults to the entry file's name (environments/prod.yaml -> prod).",
        examples=["prod"],
    )]
    account_id: Annotated[AccountId, Field(
        description="The AWS account to deploy into (quoted: 12 digits). Every ARN in the output is "
        "derived from it, and apply refuses to run with credentials of another account.",
        examples=["123456789012"],
    )]
    region: Annotated[AwsRegion, Field(description="AWS region for every resource.", examples=["eu-west-1"])]
    tier: Literal["production", "non-production"] = Field(
        "non-production",
        description="`production` tightens the rules: multi-AZ database, deletion protection, backups "
        ">= 7 days, NAT per AZ, >= 2 replicas per component, >= 2 on-demand nodes.",
        examples=["production"],
    )
    tags: Annotated[dict[str, str], AfterValidator(_tags)] = Field(
        {},
        description="Extra AWS tags on every resource (Project, Environment and ManagedBy are added).",
        examples=[{"CostCenter": "platform", "Owner": "team-data"}],
    )
