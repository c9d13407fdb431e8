"""EKS managed add-ons and the IRSA roles of the add-ons that call AWS.

Networking add-ons (vpc-cni, kube-proxy, eks-pod-identity-agent) are installed before the node
groups, so nodes become Ready with the managed CNI; the others need nodes to schedule on and
are installed after them. The cluster is created with `bootstrap_self_managed_addons = false`,
so these are the only copies. vpc-cni enforces Kubernetes NetworkPolicies
(`enableNetworkPolicy`), which the policies target relies on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from cdktn import ITerraformDependable
from cdktn_provider_aws.eks_addon import EksAddon
from cdktn_provider_aws.eks_cluster import EksCluster

from engine.targets.terraform.base import BaseStack

VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}


def addon(stack: BaseStack, cluster: EksCluster, name: str, *, role_arn: str | None = None,
          configuration: dict[str, str] | None = None,
          after: Sequence[ITerraformDependable] = ()) -> EksAddon:
    return EksAddon(
        stack, f"addon_{name.replace('-', '_')}", cluster_name=cluster.name, addon_name=name,
        service_account_role_arn=role_arn,
        configuration_values=json.dumps(configuration, sort_keys=True) if configuration else None,
        resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
        depends_on=list(after) or None,
    )


def networking_addons(stack: BaseStack, cluster: EksCluster, vpc_cni_role_arn: str) -> list[EksAddon]:
    return [
        addon(stack, cluster, "vpc-cni", role_arn=vpc_cni_role_arn, configuration=VPC_CNI_CONFIGURATION),
        addon(stack, cluster, "kube-proxy"),
        addon(stack, cluster, "eks-pod-identity-agent"),
    ]


def workload_addons(stack: BaseStack, cluster: EksCluster, *, ebs_csi_role_arn: str,
                    cloudwatch_role_arn: str | None, after: Sequence[ITerraformDependable]) -> list[EksAddon]:
    addons = [
        addon(stack, cluster, "coredns", after=after),
        addon(stack, cluster, "aws-ebs-csi-driver", role_arn=ebs_csi_role_arn, after=after),
    ]
    if cloudwatch_role_arn is not None:
        addons.append(addon(stack, cluster, "amazon-cloudwatch-observability", role_arn=cloudwatch_role_arn,
                            after=after))
    return addons
