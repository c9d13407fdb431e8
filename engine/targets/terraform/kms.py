"""Customer managed KMS keys with explicit, least-privilege key policies.

Three keys, each owned by the first stack whose resources it protects, so a stack never depends
on a later one and each key's policy names only the services that use it:

* `logs` (network stack): CloudWatch Logs log groups of every stack (VPC flow logs, EKS control
  plane, RDS log exports, WAF) and the SNS alarm topic. Logs and CloudWatch alarms use it as
  service principals; the logs grant is bound to this account's log groups through the
  `kms:EncryptionContext:aws:logs:arn` condition.
* `data` (network stack): RDS storage, Performance Insights and the RDS-managed master secret,
  the storage bucket and the Secrets Manager containers (data stack), which the cluster stack's
  IRSA roles decrypt through S3 and Secrets Manager. It lives in the network stack so that both
  name it by exact ARN and neither waits for the other (an IAM grant by alias,
  `kms:ResourceAliases`, would follow an alias an administrator re-points). Only usable through
  RDS, S3 and Secrets Manager (`kms:ViaService`): no principal can call Decrypt on it directly.
* `eks` (cluster stack): Kubernetes secrets envelope encryption and the nodes' root volumes.
  Usable through EKS and EC2, and by the Auto Scaling service-linked role that launches the
  managed node groups' instances (it must exist in the account; AWS creates it the first time
  Auto Scaling is used, or `aws iam create-service-linked-role --aws-service-name
  autoscaling.amazonaws.com`).

The account root keeps administrative rights (never `kms:*` for use, never the `*` principal),
so IAM administrators can manage but not silently read the key; rotation is always on with the
configured period.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey

from engine.targets.terraform.base import BaseStack
from engine.targets.terraform.iam import Statement, allow, condition, document, principal

DELETION_WINDOW_DAYS = 30

ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant", "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
USE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")


def customer_key(stack: BaseStack, id_: str, *, purpose: str, description: str,
                 statements: Sequence[Statement]) -> KmsKey:
    """A rotating CMK `alias/<prefix>-<purpose>` whose policy is admin-for-root plus `statements`."""
    admin = allow("AccountAdministersKey", ADMIN_ACTIONS, ["*"], principals=[principal("AWS", stack.account_root)])
    policy = document(stack, f"{id_}_policy", [admin, *statements])
    key = KmsKey(stack, id_, description=description, enable_key_rotation=True,
                 rotation_period_in_days=stack.config.security.kms_rotation_days,
                 deletion_window_in_days=DELETION_WINDOW_DAYS, policy=policy.json)
    KmsAlias(stack, f"{id_}_alias", name=f"{stack.resolved.names['kms_alias']}-{purpose}", target_key_id=key.key_id)
    return key


def via_services(stack: BaseStack, sid: str, services: Sequence[str], *, grants: bool = True) -> list[Statement]:
    """Principals of this account may use the key, but only through the named AWS services."""
    in_account = [principal("AWS", stack.account_root)]
    via = condition("StringEquals", "kms:ViaService", *(stack.service_host(s) for s in services))
    account = condition("StringEquals", "kms:CallerAccount", stack.account_id)
    statements = [allow(sid, USE_ACTIONS, ["*"], principals=in_account, conditions=[via, account])]
    if grants:
        statements.append(allow(f"{sid}Grants", ["kms:CreateGrant"], ["*"], principals=in_account,
                                conditions=[via, account,
                                            condition("Bool", "kms:GrantIsForAWSResource", "true")]))
    return statements


def logs_key(stack: BaseStack) -> KmsKey:
    log_groups = stack.arn("logs", "log-group:*")
    statements = [
        allow("CloudWatchLogsEncryptsLogGroups", USE_ACTIONS, ["*"],
              principals=[principal("Service", stack.service_host("logs"))],
              conditions=[condition("ArnLike", "kms:EncryptionContext:aws:logs:arn", log_groups)]),
        # Only this account's alarms in this region (the confused-deputy guard).
        allow("CloudWatchAlarmsPublishToTopic", ["kms:Decrypt", "kms:GenerateDataKey*"], ["*"],
              principals=[principal("Service", "cloudwatch.amazonaws.com")],
              conditions=[condition("StringEquals", "aws:SourceAccount", stack.account_id),
                          condition("ArnLike", "aws:SourceArn", stack.arn("cloudwatch", "alarm:*"))]),
        *via_services(stack, "UseThroughLogsAndSns", ("logs", "sns"), grants=False),
    ]
    return customer_key(stack, "logs_key", purpose="logs", statements=statements,
                        description=f"{stack.resolved.prefix}: CloudWatch log groups and the alarm topic")


def data_key(stack: BaseStack) -> KmsKey:
    statements = via_services(stack, "UseThroughDataServices", ("rds", "s3", "secretsmanager"))
    return customer_key(stack, "data_key", purpose="data", statements=statements,
                        description=f"{stack.resolved.prefix}: database, storage bucket and secrets")


def eks_key(stack: BaseStack) -> KmsKey:
    autoscaling = stack.arn("iam", "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
                            regional=False)
    statements = [
        *via_services(stack, "UseThroughEksAndEc2", ("eks", "ec2")),
        allow("AutoScalingLaunchesEncryptedNodes", USE_ACTIONS, ["*"], principals=[principal("AWS", autoscaling)]),
        allow("AutoScalingAttachesEncryptedVolumes", ["kms:CreateGrant"], ["*"],
              principals=[principal("AWS", autoscaling)],
              conditions=[condition("Bool", "kms:GrantIsForAWSResource", "true")]),
    ]
    return customer_key(stack, "eks_key", purpose="eks", statements=statements,
                        description=f"{stack.resolved.prefix}: Kubernetes secrets and node volumes")
