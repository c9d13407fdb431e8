"""`network`: the VPC and how its address space is split across availability zones."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field

from engine.config.model.base import PrivateCidr, Section, Unique

# CloudWatch Logs accepts only these retention periods; one year is the floor the checks demand.
LOG_RETENTION_DAYS = (365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
LogRetention = Literal[365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]

InterfaceEndpoint = Literal[
    "autoscaling", "ec2", "ecr.api", "ecr.dkr", "eks", "eks-auth", "elasticloadbalancing", "kms",
    "logs", "monitoring", "secretsmanager", "sns", "ssm", "sts",
]
INTERFACE_ENDPOINTS: tuple[InterfaceEndpoint, ...] = get_args(InterfaceEndpoint)

DEFAULT_ENDPOINTS: tuple[InterfaceEndpoint, ...] = ("ecr.api", "ecr.dkr", "kms", "logs", "secretsmanager", "sts")

VPC_PREFIX_MIN = 16
VPC_PREFIX_MAX = 24
# Pods take VPC addresses (vpc-cni), so private subnets need room; RDS wants at least a /28.
PRIVATE_PREFIX_MAX = 24
EDGE_PREFIX_MAX = 28


def subnet_prefixes(vpc_prefix: int, zones: int) -> tuple[int, int]:
    """Prefix lengths of (private, public-or-database) subnets for a VPC split across `zones`.

    The VPC is halved: one half holds a private subnet per zone, the other half is halved again
    into public and database subnets per zone. Each part is divided into a power-of-two number of
    equal slots, enough for every zone.
    """
    slot_bits = (zones - 1).bit_length()
    return vpc_prefix + 1 + slot_bits, vpc_prefix + 2 + slot_bits


class Network(Section):
    vpc_cidr: PrivateCidr = Field(
        "10.0.0.0/16",
        description=f"VPC address block: a private range, /{VPC_PREFIX_MIN} to /{VPC_PREFIX_MAX}. Half goes "
        "to private (pod and node) subnets, a quarter each to public and database subnets.",
        examples=["10.20.0.0/16"],
    )
    availability_zones: int = Field(
        3, ge=2, le=6,
        description="Number of availability zones to spread subnets, NAT and nodes across (2-6).",
        examples=[3],
    )
    zone_names: Annotated[tuple[str, ...], Unique] | None = Field(
        None,
        description="Exact zone names (for example eu-west-1a); when omitted the first zones the "
        "account reports are used. Must list `availability_zones` zones of the project's region.",
        examples=[["eu-west-1a", "eu-west-1b", "eu-west-1c"]],
    )
    nat: Literal["single", "per_az"] = Field(
        "per_az",
        description="`per_az` keeps egress up when a zone fails (required in production); "
        "`single` saves cost in development.",
        examples=["single"],
    )
    flow_log_retention_days: LogRetention = Field(
        365, description="Days to keep VPC flow logs (a CloudWatch retention period of at least a year).",
        examples=[731],
    )
    interface_endpoints: Annotated[tuple[InterfaceEndpoint, ...], Unique] = Field(
        DEFAULT_ENDPOINTS,
        description="AWS services reached through private interface endpoints instead of NAT. "
        "An S3 gateway endpoint is always created.",
        examples=[list(DEFAULT_ENDPOINTS)],
    )
