"""The storage bucket behind the Storage API and the bucket that receives its access logs.

Both buckets: every public access block on, ACLs disabled (`BucketOwnerEnforced`), versioning,
a lifecycle that aborts incomplete multipart uploads and expires old versions, and a bucket
policy that denies any request not made over TLS.

Encryption differs on purpose. The storage bucket uses SSE-KMS with the data key and an S3
bucket key. The log bucket uses SSE-S3 (AES256): the S3 user guide documents SSE-S3 as the
only default encryption supported on a server access logging destination bucket (log delivery
does not use a customer key), so the checkov CMK check is skipped for that one bucket, with
the reason in `checkov_skips.yaml`. Log delivery is granted by bucket policy to the
`logging.s3.amazonaws.com` principal, only for the storage bucket as source and only under its
prefix.
"""

from __future__ import annotations

from cdktn_provider_aws.data_aws_elb_service_account import DataAwsElbServiceAccount
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.s3_bucket import S3Bucket
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktn_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktn_provider_aws.s3_bucket_ownership_controls import S3BucketOwnershipControls, S3BucketOwnershipControlsRule
from cdktn_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktn_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktn_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktn_provider_aws.s3_bucket_versioning import S3BucketVersioningA, S3BucketVersioningVersioningConfiguration

from engine.identities import STORAGE
from engine.targets.terraform import iam
from engine.targets.terraform.base import BaseStack

ABORT_MULTIPART_DAYS = 7
LOG_PREFIX = "s3-access/"
ALB_LOG_PREFIX = "alb/"  # charts/supabase: ingress access logs go to alb/<prefix>/
# Regions that existed before August 2022 deliver ALB logs from a per-Region ELB account.
ELB_ACCOUNT_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-north-1",
    "me-south-1", "sa-east-1", "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1",
})


def storage_buckets(stack: BaseStack, key: KmsKey, *, s3_endpoint_id: str) -> S3Bucket:
    """Create the log bucket and the storage bucket; returns the storage bucket."""
    retention = stack.config.observability.log_retention_days
    logs = S3Bucket(stack, "log_bucket", bucket=stack.resolved.names["log_bucket"])
    storage = S3Bucket(stack, "storage_bucket", bucket=stack.resolved.names["storage_bucket"])
    for id_, bucket in (("log_bucket", logs), ("storage_bucket", storage)):
        S3BucketPublicAccessBlock(stack, f"{id_}_public_access_block", bucket=bucket.id, block_public_acls=True,
                                  block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True)
        S3BucketOwnershipControls(stack, f"{id_}_ownership", bucket=bucket.id,
                                  rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"))
        S3BucketVersioningA(stack, f"{id_}_versioning", bucket=bucket.id,
                            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"))

    _encryption(stack, "log_bucket", logs, None)
    _encryption(stack, "storage_bucket", storage, key)
    _lifecycle(stack, "log_bucket", logs, noncurrent_days=30, expire_days=retention)
    _lifecycle(stack, "storage_bucket", storage, noncurrent_days=stack.config.storage.noncurrent_version_expiry_days)

    delivery = iam.allow(
        "S3ServerAccessLogDelivery", ["s3:PutObject"], [f"{logs.arn}/{LOG_PREFIX}*"],
        principals=[iam.principal("Service", "logging.s3.amazonaws.com")],
        conditions=[iam.condition("ArnLike", "aws:SourceArn", storage.arn),
                    iam.condition("StringEquals", "aws:SourceAccount", stack.account_id)])
    log_policy = _policy(stack, "log_bucket", logs, [delivery, *alb_log_delivery(stack, logs.arn)])
    # The Storage API's role works only through the VPC's S3 endpoint: its credentials, if
    # stolen, open nothing from outside. (The role lives in the cluster stack, after this one,
    # so it is named by its fixed ARN.)
    storage_role = stack.arn("iam", f"role/{stack.role_name(STORAGE.role_suffix)}", regional=False)
    outside = iam.deny("StorageRoleOnlyThroughVpcEndpoint", ["s3:*"], [storage.arn, f"{storage.arn}/*"],
                       principals=[iam.principal("*", "*")],
                       conditions=[iam.condition("ArnEquals", "aws:PrincipalArn", storage_role),
                                   iam.condition("StringNotEquals", "aws:SourceVpce", s3_endpoint_id)])
    _policy(stack, "storage_bucket", storage, [outside])
    # S3 checks that the logging service may write to the target when logging is turned on;
    # nothing in the arguments orders that after the policy granting it, so say so.
    S3BucketLoggingA(stack, "storage_bucket_logging", bucket=storage.id, target_bucket=logs.id,
                     target_prefix=f"{LOG_PREFIX}{storage.bucket}/", depends_on=[log_policy])
    return storage


def alb_log_delivery(stack: BaseStack, log_bucket_arn: str) -> list[iam.Statement]:
    """Let Elastic Load Balancing write the API load balancer's access logs (`alb/<prefix>/`).

    The chart's Ingress asks the load balancer controller for access logs under that prefix.
    Regions launched since August 2022 deliver as the `logdelivery.elasticloadbalancing`
    service principal; older Regions deliver from the Region's ELB account
    (`aws_elb_service_account`), so those get both principals.
    """
    resource = f"{log_bucket_arn}/{ALB_LOG_PREFIX}{stack.resolved.prefix}/AWSLogs/{stack.account_id}/*"
    principals = [iam.principal("Service", "logdelivery.elasticloadbalancing.amazonaws.com")]
    if stack.region in ELB_ACCOUNT_REGIONS:
        principals.append(iam.principal("AWS", DataAwsElbServiceAccount(stack, "elb_service_account").arn))
    return [iam.allow("LoadBalancerAccessLogDelivery", ["s3:PutObject"], [resource], principals=principals)]


def _encryption(stack: BaseStack, id_: str, bucket: S3Bucket, key: KmsKey | None) -> None:
    default = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
        sse_algorithm="aws:kms" if key else "AES256", kms_master_key_id=key.arn if key else None)
    S3BucketServerSideEncryptionConfigurationA(stack, f"{id_}_encryption", bucket=bucket.id, rule=[
        S3BucketServerSideEncryptionConfigurationRuleA(apply_server_side_encryption_by_default=default,
                                                       bucket_key_enabled=key is not None)])


def _lifecycle(stack: BaseStack, id_: str, bucket: S3Bucket, *, noncurrent_days: int,
               expire_days: int | None = None) -> None:
    rule = S3BucketLifecycleConfigurationRule(
        id="housekeeping", status="Enabled", filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
        abort_incomplete_multipart_upload=[S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
            days_after_initiation=ABORT_MULTIPART_DAYS)],
        noncurrent_version_expiration=[S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
            noncurrent_days=noncurrent_days)],
        expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=expire_days)] if expire_days else None)
    S3BucketLifecycleConfiguration(stack, f"{id_}_lifecycle", bucket=bucket.id, rule=[rule])


def _policy(stack: BaseStack, id_: str, bucket: S3Bucket, extra: list[iam.Statement]) -> S3BucketPolicy:
    tls_only = iam.deny("DenyInsecureTransport", ["s3:*"], [bucket.arn, f"{bucket.arn}/*"],
                        principals=[iam.principal("*", "*")],
                        conditions=[iam.condition("Bool", "aws:SecureTransport", "false")])
    policy = iam.document(stack, f"{id_}_policy_document", [tls_only, *extra])
    return S3BucketPolicy(stack, f"{id_}_policy", bucket=bucket.id, policy=policy.json)
