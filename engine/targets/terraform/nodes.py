"""Managed node groups: private subnets only, IMDSv2 with hop limit 1, encrypted gp3 roots.

Each `cluster.node_groups` entry gets its own launch template (so disk sizes can differ) and
a managed node group. The launch template lists the security groups explicitly; EKS then no
longer adds the cluster security group by itself, so both the cluster security group (control
plane <-> nodes) and the workload security group (database access) are listed. There is no SSH
key and no remote access block. The metadata hop limit of 1 keeps pods away from the node's
instance credentials: pods use IRSA.

The node role has only the worker and ECR pull policies; the VPC CNI policy is on the
vpc-cni add-on's own IRSA role. `desired_size` is ignored after creation because the Cluster
Autoscaler owns it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cdktn import ITerraformDependable, TerraformResourceLifecycle, Token
from cdktn_provider_aws.eks_cluster import EksCluster
from cdktn_provider_aws.eks_node_group import (
    EksNodeGroup,
    EksNodeGroupLaunchTemplate,
    EksNodeGroupScalingConfig,
    EksNodeGroupTaint,
    EksNodeGroupUpdateConfig,
)
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.launch_template import (
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateBlockDeviceMappingsEbs,
    LaunchTemplateMetadataOptions,
)

from engine.config.model.cluster import NodeGroup
from engine.targets.terraform import iam
from engine.targets.terraform.base import BaseStack

ROOT_DEVICE = "/dev/xvda"  # Amazon Linux 2023 EKS AMIs
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
CAPACITY_TYPES = {"on_demand": "ON_DEMAND", "spot": "SPOT"}
_GRAVITON = re.compile(r"[a-z]+\d+g[a-z]*\..*")  # m7g.large, c7gn.xlarge, t4g.medium


def ami_type(instance_types: Sequence[str]) -> str:
    """Amazon Linux 2023 for the architecture of the group's first instance type."""
    arm = bool(_GRAVITON.fullmatch(instance_types[0]))
    return "AL2023_ARM_64_STANDARD" if arm else "AL2023_x86_64_STANDARD"


def node_role(stack: BaseStack) -> iam.Role:
    trust = iam.trust_service(stack, "node_trust", "ec2.amazonaws.com")
    return iam.role(stack, "node_role", name=stack.role_name("eks-nodes"), trust=trust,
                    managed_policies=[stack.managed_policy("AmazonEKSWorkerNodePolicy"),
                                      stack.managed_policy("AmazonEC2ContainerRegistryPullOnly")],
                    description="EKS managed node group instances")


def node_groups(stack: BaseStack, *, cluster: EksCluster, role: iam.Role, subnet_ids: list[str],
                security_group_ids: list[str], key: KmsKey,
                after: Sequence[ITerraformDependable]) -> list[EksNodeGroup]:
    groups = []
    for name, group in stack.config.cluster.node_groups.items():
        template = _launch_template(stack, name, group, security_group_ids, key)
        groups.append(EksNodeGroup(
            stack, f"node_group_{name.replace('-', '_')}", cluster_name=cluster.name, node_group_name=name,
            node_role_arn=role.arn, subnet_ids=subnet_ids, instance_types=list(group.instance_types),
            capacity_type=CAPACITY_TYPES[group.capacity], ami_type=ami_type(group.instance_types),
            scaling_config=EksNodeGroupScalingConfig(min_size=group.min_size, desired_size=group.desired_size,
                                                     max_size=group.max_size),
            update_config=EksNodeGroupUpdateConfig(max_unavailable=1),
            launch_template=EksNodeGroupLaunchTemplate(id=template.id,
                                                       version=Token.as_string(template.latest_version)),
            labels=dict(group.labels) or None,
            taint=[EksNodeGroupTaint(key=t.key, value=t.value or None, effect=TAINT_EFFECTS[t.effect])
                   for t in group.taints] or None,
            lifecycle=TerraformResourceLifecycle(ignore_changes=["scaling_config[0].desired_size"]),
            depends_on=[*role.grants, *after],
        ))
    return groups


def _launch_template(stack: BaseStack, name: str, group: NodeGroup, security_group_ids: list[str],
                     key: KmsKey) -> LaunchTemplate:
    return LaunchTemplate(
        stack, f"node_group_{name.replace('-', '_')}_template", name=stack.name(f"nodes-{name}"),
        description=f"EKS node group {name}: IMDSv2 only, encrypted root volume", update_default_version=True,
        vpc_security_group_ids=security_group_ids,
        metadata_options=LaunchTemplateMetadataOptions(http_endpoint="enabled", http_tokens="required",
                                                       http_put_response_hop_limit=1),
        block_device_mappings=[LaunchTemplateBlockDeviceMappings(
            device_name=ROOT_DEVICE, ebs=LaunchTemplateBlockDeviceMappingsEbs(
                volume_size=group.disk_size_gib, volume_type="gp3", encrypted="true", kms_key_id=key.arn,
                delete_on_termination="true"))],
    )
