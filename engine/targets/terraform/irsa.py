"""IAM roles for service accounts (IRSA): one role per Kubernetes service account.

Each trust policy admits exactly one service account of this cluster: `StringEquals` on the
issuer's `:sub` (`system:serviceaccount:<namespace>:<name>`) and `:aud` (`sts.amazonaws.com`).
Permissions are scoped to this platform's resources wherever the API allows resource scoping;
the few `*` resources are describe/list calls that AWS does not scope.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktn_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider

from engine.identities import ServiceAccount
from engine.targets.helm import infra_parameter, published_parameters
from engine.targets.terraform import iam
from engine.targets.terraform.base import BaseStack

STS_AUDIENCE = "sts.amazonaws.com"


def irsa_role(stack: BaseStack, oidc: IamOpenidConnectProvider, issuer_host: str, account: ServiceAccount, *,
              managed_policies: Sequence[str] = (), statements: Sequence[iam.Statement] = ()) -> iam.Role:
    id_ = account.role_suffix.replace("-", "_")
    trust = iam.document(stack, f"{id_}_trust", [iam.allow(
        "TrustOneServiceAccount", ["sts:AssumeRoleWithWebIdentity"], [],
        principals=[iam.principal("Federated", oidc.arn)],
        conditions=[iam.condition("StringEquals", f"{issuer_host}:sub", account.subject),
                    iam.condition("StringEquals", f"{issuer_host}:aud", STS_AUDIENCE)])])
    inline = iam.document(stack, f"{id_}_permissions", statements) if statements else None
    return iam.role(stack, id_, name=stack.role_name(account.role_suffix), trust=trust,
                    managed_policies=managed_policies, inline=inline,
                    description=f"IRSA for {account.namespace}/{account.name}")


def storage_statements(bucket_arn: str, key_arn: str) -> list[iam.Statement]:
    """The Storage API: objects of its one bucket, and the data key for SSE-KMS."""
    return [
        iam.allow("ListBucket", ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                  [bucket_arn]),
        iam.allow("ReadWriteObjects", ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject",
                                       "s3:ListMultipartUploadParts", "s3:PutObject"], [f"{bucket_arn}/*"]),
        iam.allow("UseDataKeyForObjects", ["kms:Decrypt", "kms:GenerateDataKey"], [key_arn]),
    ]


# RDS names the master secret it manages `rds!db-<id>` (random id) and tags it
# `aws:rds:primaryDBInstanceArn` = the instance's ARN (RDS User Guide, "Password management with
# Amazon RDS and AWS Secrets Manager"; RDS's own service-linked role policy,
# AmazonRDSServiceRolePolicy, manages exactly the secrets `secret:rds!*` whose
# `secretsmanager:ResourceTag/aws:secretsmanager:owningService` is `rds`, and may tag them only
# with `aws:rds:primaryDBInstanceArn`/`aws:rds:primaryDBClusterArn`). Tags under `aws:` are
# reserved: no principal can add, edit or remove them (Secrets Manager API Reference,
# TagResource). GetSecretValue and DescribeSecret accept `secretsmanager:ResourceTag/<key>` on
# the secret (Service Authorization Reference, Secrets Manager). So the pattern plus both tag
# conditions admit only the secret RDS keeps for the instance of this identifier (one at a time;
# a replaced instance's secret goes with it), named without a reference to the data stack.
MASTER_SECRET_PATTERN = "secret:rds!db-*"
RDS_INSTANCE_TAG = "aws:rds:primaryDBInstanceArn"
OWNING_SERVICE_TAG = "aws:secretsmanager:owningService"


def external_secrets_statements(stack: BaseStack, key_arn: str) -> list[iam.Statement]:
    """External Secrets: read this platform's secrets (by name prefix) and decrypt them.

    The RDS-managed master secret (`rds!db-...`, encrypted with the same data key) is outside the
    prefix; it is read for the chart's database bootstrap hook, which finds it by its
    `aws:rds:primaryDBInstanceArn` tag (ListSecrets, and BatchGetSecretValue, which newer ESO
    releases use to fetch what a find matched: neither can be scoped to a resource; the values
    still need GetSecretValue on the secret itself). The SSM parameters the data stack publishes
    (String, unencrypted: names, not secrets) are read by exact name. Everything is named, not
    referenced, so this stack does not wait for the data stack.
    """
    prefix = stack.resolved.names["secret_prefix"]
    instance = stack.arn("rds", f"db:{stack.resolved.names['database']}")
    parameters = [stack.parameter_arn(infra_parameter(stack.resolved, key))
                  for key in published_parameters(stack.resolved)]
    read = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    return [
        iam.allow("ReadPlatformSecrets", read, [stack.arn("secretsmanager", f"secret:{prefix}*")]),
        iam.allow("ReadMasterSecretOfThisInstance", read, [stack.arn("secretsmanager", MASTER_SECRET_PATTERN)],
                  conditions=[
                      iam.condition("StringEquals", f"secretsmanager:ResourceTag/{RDS_INSTANCE_TAG}", instance),
                      iam.condition("StringEquals", f"secretsmanager:ResourceTag/{OWNING_SERVICE_TAG}", "rds")]),
        iam.allow("FindMasterSecretByTag", ["secretsmanager:BatchGetSecretValue", "secretsmanager:ListSecrets"],
                  ["*"]),
        iam.allow("ReadPublishedFacts", ["ssm:GetParameter", "ssm:GetParameters"], parameters),
        iam.allow("DecryptPlatformSecrets", ["kms:Decrypt"], [key_arn],
                  conditions=[iam.condition("StringEquals", "kms:ViaService", stack.service_host("secretsmanager"))]),
    ]


def cluster_autoscaler_statements(stack: BaseStack) -> list[iam.Statement]:
    """Cluster Autoscaler: describe everything (unscopable), resize only this cluster's groups.

    `ec2:GetInstanceTypesFromInstanceRequirements` (upstream's list) is left out: it serves
    attribute-based instance selection, which managed node groups do not use.
    """
    cluster = stack.resolved.names["cluster"]
    return [
        iam.allow("DescribeScalingInputs", [
            "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
            "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
            "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
            "ec2:DescribeLaunchTemplateVersions"], ["*"]),
        iam.allow("DescribeOwnNodegroups", ["eks:DescribeNodegroup"],
                  [stack.arn("eks", f"nodegroup/{cluster}/*")]),
        iam.allow("ResizeOwnGroups", ["autoscaling:SetDesiredCapacity",
                                      "autoscaling:TerminateInstanceInAutoScalingGroup"],
                  [stack.arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*")],
                  conditions=[iam.condition("StringEquals", f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}",
                                            "owned")]),
    ]


def load_balancer_controller_statements(stack: BaseStack, vpc_id: str) -> list[iam.Statement]:
    """AWS Load Balancer Controller, compact: it may only change what it tagged for this cluster.

    The controller tags every load balancer, target group and security group it creates with
    `elbv2.k8s.aws/cluster=<cluster>`; creation requires that tag in the request and every
    change or deletion requires it on the resource. Listeners, rules and the WAF association
    are reachable only on this environment's load balancer (by its name in the ARN) and web
    ACL, target registration only on target groups carrying the cluster tag. Security group
    rules may be edited only for groups in this VPC (the controller opens the node groups to
    its load balancers).
    """
    cluster = stack.resolved.names["cluster"]
    tag = "elbv2.k8s.aws/cluster"
    requested = iam.condition("StringEquals", f"aws:RequestTag/{tag}", cluster)
    owned = iam.condition("StringEquals", f"aws:ResourceTag/{tag}", cluster)
    security_groups = stack.arn("ec2", "security-group/*")
    vpc = stack.arn("ec2", f"vpc/{vpc_id}")
    balancer = stack.resolved.names["load_balancer"]  # the ingress sets it as the ALB's name
    web_acl = stack.arn("wafv2", f"regional/webacl/{stack.name('api')}/*")
    load_balancers = [stack.arn("elasticloadbalancing", "loadbalancer/app/*/*"),
                      stack.arn("elasticloadbalancing", "loadbalancer/net/*/*"),
                      stack.arn("elasticloadbalancing", "targetgroup/*/*")]
    own_balancer = stack.arn("elasticloadbalancing", f"loadbalancer/app/{balancer}/*")
    listeners = [stack.arn("elasticloadbalancing", f"listener/app/{balancer}/*/*"),
                 stack.arn("elasticloadbalancing", f"listener-rule/app/{balancer}/*/*/*")]
    return [
        iam.allow("CreateElbServiceLinkedRole", ["iam:CreateServiceLinkedRole"], [
            stack.arn("iam", "role/aws-service-role/elasticloadbalancing.amazonaws.com/*", regional=False)],
            conditions=[iam.condition("StringEquals", "iam:AWSServiceName", "elasticloadbalancing.amazonaws.com")]),
        iam.allow("Describe", [
            "acm:ListCertificates", "ec2:DescribeAccountAttributes",
            "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones", "ec2:DescribeCoipPools",
            "ec2:DescribeInstances", "ec2:DescribeInternetGateways", "ec2:DescribeIpamPools",
            "ec2:DescribeNetworkInterfaces", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets", "ec2:DescribeTags", "ec2:DescribeVpcPeeringConnections", "ec2:DescribeVpcs",
            "elasticloadbalancing:DescribeCapacityReservation", "elasticloadbalancing:DescribeListenerAttributes",
            "elasticloadbalancing:DescribeListenerCertificates", "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeSSLPolicies",
            "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetGroupAttributes",
            "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
            "elasticloadbalancing:DescribeTrustStores", "shield:GetSubscriptionState"], ["*"]),
        iam.allow("DescribeOwnCertificate", ["acm:DescribeCertificate"], [stack.config.security.certificate_arn]),
        iam.allow("ListVpcSecurityGroups", ["ec2:GetSecurityGroupsForVpc"], [vpc, security_groups]),
        iam.allow("ReadWebAcls", ["wafv2:GetWebACL", "wafv2:GetWebACLForResource"], [web_acl, own_balancer]),
        # The ingress names the web ACL (wafv2-acl-name); resolving a name to its ARN lists them.
        iam.allow("FindWebAclByName", ["wafv2:ListWebACLs"], ["*"]),
        iam.allow("CreateSecurityGroupInVpc", ["ec2:CreateSecurityGroup"],
                  [vpc]),
        iam.allow("CreateTaggedSecurityGroup", ["ec2:CreateSecurityGroup"], [security_groups],
                  conditions=[requested]),
        iam.allow("TagSecurityGroupOnCreate", ["ec2:CreateTags"], [security_groups],
                  conditions=[requested, iam.condition("StringEquals", "ec2:CreateAction", "CreateSecurityGroup")]),
        iam.allow("ManageOwnSecurityGroups", ["ec2:CreateTags", "ec2:DeleteSecurityGroup", "ec2:DeleteTags"],
                  [security_groups], conditions=[owned]),
        iam.allow("EditRulesInVpc", ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                  [security_groups],
                  conditions=[iam.condition("ArnEquals", "ec2:Vpc", vpc)]),
        iam.allow("CreateTaggedLoadBalancers", ["elasticloadbalancing:CreateLoadBalancer",
                                                "elasticloadbalancing:CreateTargetGroup"], load_balancers,
                  conditions=[requested]),
        iam.allow("TagOnCreate", ["elasticloadbalancing:AddTags"], load_balancers + listeners,
                  conditions=[iam.condition("StringEquals", "elasticloadbalancing:CreateAction",
                                            "CreateTargetGroup", "CreateLoadBalancer", "CreateListener",
                                            "CreateRule")]),
        iam.allow("ManageOwnLoadBalancers", [
            "elasticloadbalancing:AddTags", "elasticloadbalancing:DeleteLoadBalancer",
            "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:ModifyCapacityReservation",
            "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyLoadBalancerAttributes",
            "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
            "elasticloadbalancing:RemoveTags", "elasticloadbalancing:SetIpAddressType",
            "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets"], load_balancers,
            conditions=[owned]),
        iam.allow("ManageListenersAndRules", [
            "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:CreateListener",
            "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteListener",
            "elasticloadbalancing:DeleteRule", "elasticloadbalancing:ModifyListener",
            "elasticloadbalancing:ModifyRule", "elasticloadbalancing:RemoveListenerCertificates",
            "elasticloadbalancing:SetRulePriorities"], [own_balancer, *listeners]),
        iam.allow("RegisterOwnTargets", ["elasticloadbalancing:DeregisterTargets",
                                         "elasticloadbalancing:RegisterTargets"], [load_balancers[2]],
                  conditions=[owned]),
        iam.allow("AttachOwnWebAcl", ["elasticloadbalancing:SetWebAcl", "wafv2:AssociateWebACL",
                                      "wafv2:DisassociateWebACL"], [own_balancer, web_acl]),
    ]
