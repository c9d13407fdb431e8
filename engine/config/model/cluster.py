"""`cluster`: the EKS control plane, its API endpoint and its node groups."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from engine.config.model.base import (
    IamPrincipalArn,
    OperatorCidr,
    Pattern,
    PrivateCidr,
    Section,
    Unique,
    invalid,
)

KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34", "1.35")
KubernetesVersion = Literal["1.32", "1.33", "1.34", "1.35"]

InstanceType = Annotated[str, Pattern(
    r"[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.[0-9]*[a-z]+",
    "an EC2 instance type",
    "for example m6i.large or t3.medium (no db. prefix here)",
)]

_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


def _labels(labels: dict[str, str]) -> dict[str, str]:
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(key):
            raise invalid(f"{key!r} is not a Kubernetes label key", "use [prefix/]name with letters, digits, - _ .")
        if not _LABEL_VALUE.fullmatch(value):
            raise invalid(f"label {key!r} has an invalid value {value!r}",
                          "at most 63 letters, digits, - _ . starting and ending alphanumeric")
    return labels


def _taint_key(value: str) -> str:
    if not _LABEL_KEY.fullmatch(value):
        raise invalid(f"{value!r} is not a Kubernetes taint key",
                      "use [prefix/]name: a DNS subdomain prefix, then up to 63 letters, digits, - _ .")
    return value


def _taint_value(value: str) -> str:
    if not _LABEL_VALUE.fullmatch(value):
        raise invalid(f"{value!r} is not a Kubernetes taint value",
                      "at most 63 letters, digits, - _ . starting and ending alphanumeric")
    return value


class Taint(Section):
    key: Annotated[str, AfterValidator(_taint_key)] = Field(
        min_length=1, max_length=63, description="Taint key ([prefix/]name, at most 63 characters).",
        examples=["dedicated"])
    value: Annotated[str, AfterValidator(_taint_value)] = Field(
        "", max_length=63, description="Taint value.", examples=["realtime"])
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field(
        description="What the taint does to pods that do not tolerate it.", examples=["NoSchedule"],
    )


class NodeGroup(Section):
    instance_types: Annotated[tuple[InstanceType, ...], Unique] = Field(
        min_length=1, max_length=20,
        description="EC2 instance types; several spread spot capacity across pools.",
        examples=[["m6i.large", "m5.large"]],
    )
    capacity: Literal["on_demand", "spot"] = Field(
        "on_demand", description="On-demand or spot capacity (production needs on-demand nodes).",
        examples=["spot"],
    )
    min_size: int = Field(2, ge=0, le=450, description="Fewest nodes.", examples=[2])
    desired_size: int = Field(2, ge=0, le=450, description="Nodes at creation (min <= desired <= max).",
                              examples=[3])
    max_size: int = Field(4, ge=1, le=450, description="Most nodes the autoscaler may add.", examples=[6])
    disk_size_gib: int = Field(50, ge=20, le=16384, description="Encrypted gp3 root volume size in GiB.",
                               examples=[100])
    labels: Annotated[dict[str, str], AfterValidator(_labels)] = Field(
        {}, description="Kubernetes labels on the nodes.", examples=[{"workload": "general"}],
    )
    taints: tuple[Taint, ...] = Field(
        (), description="Taints on the nodes.",
        examples=[[{"key": "dedicated", "value": "realtime", "effect": "NoSchedule"}]],
    )


NodeGroupName = Annotated[str, Pattern(
    r"[a-z]([a-z0-9-]{0,18}[a-z0-9])?",
    "a node group name",
    "use up to 20 lowercase letters, digits and hyphens",
)]


def _not_empty(groups: dict[str, NodeGroup]) -> dict[str, NodeGroup]:
    if not groups:
        raise invalid("at least one node group is needed", "define `cluster.node_groups.general`")
    return groups


class Cluster(Section):
    kubernetes_version: KubernetesVersion = Field(
        "1.34", description=f"EKS Kubernetes version (one of {', '.join(KUBERNETES_VERSIONS)}).",
        examples=["1.34"],
    )
    public_access_cidrs: Annotated[tuple[OperatorCidr, ...], Unique] = Field(
        (),
        description="The API endpoint is always private. Listing operator CIDRs (public ranges, /16 or "
        "narrower) also opens a public endpoint to exactly those sources.",
        examples=[["203.0.113.0/24"]],
    )
    service_cidr: PrivateCidr = Field(
        "172.20.0.0/16", description="Kubernetes service address range: a private range outside the VPC.",
        examples=["172.20.0.0/16"],
    )
    node_groups: Annotated[dict[NodeGroupName, NodeGroup], AfterValidator(_not_empty)] = Field(
        {"general": NodeGroup(instance_types=("m6i.large",))},
        description="Managed node groups by name; they always run in private subnets.",
        examples=[{"general": {"instance_types": ["m6i.large"], "min_size": 2, "max_size": 6}}],
    )
    admin_principals: Annotated[tuple[IamPrincipalArn, ...], Unique] = Field(
        (),
        description="IAM roles or users granted cluster admin through EKS access entries. Nobody is "
        "admin implicitly, not even the identity that creates the cluster.",
        examples=[["arn:aws:iam::123456789012:role/platform-admins"]],
    )
