"""S3 rules: CMK encryption, TLS-only bucket policy, public access blocked and ACLs off.

SECURITY.md rows: "S3 encrypted with CMK", "S3 TLS only", "S3 public access blocked, ACLs off".
A bucket's settings are separate `aws_s3_bucket_*` resources, so each rule first finds them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from engine.checks.findings import Finding, Rule
from engine.checks.terraform.json import as_list, block, blocks, is_true
from engine.checks.terraform.model import Block, Env
from engine.checks.terraform.policy import PolicyStatement, is_star_principal

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
PAB_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


def _of_bucket(env: Env, rtype: str, bucket: Block, attr: str = "bucket") -> list[Block]:
    """The `rtype` resources whose `attr` refers to this bucket (by reference or literal name)."""
    name = bucket.body.get("bucket")
    return [item for item in env.all(rtype)
            if env.points_to(item.stack, item.body.get(attr), bucket)
            or (isinstance(name, str) and "${" not in name and item.body.get(attr) == name)]


def log_targets(env: Env) -> list[Block]:
    """Buckets that receive S3 server access logs from some bucket."""
    buckets = env.all("aws_s3_bucket")
    legacy = [b for b in buckets for source in buckets for log in blocks(source.body, "logging")
              if env.points_to(source.stack, log.get("target_bucket"), b)]
    return [b for b in buckets if _of_bucket(env, "aws_s3_bucket_logging", b, "target_bucket")] + legacy


def _sse_problems(env: Env, config: Block, log_target: bool) -> list[str]:
    problems = []
    rules = blocks(config.body, "rule") or [{}]
    for rule in rules:
        default = block(rule, "apply_server_side_encryption_by_default")
        algorithm = default.get("sse_algorithm")
        if algorithm == "AES256" and log_target:
            continue
        if algorithm not in KMS_ALGORITHMS:
            accepted = "AES256 or aws:kms" if log_target else "aws:kms"
            problems.append(f"sse_algorithm is {algorithm!r}; use {accepted}")
            continue
        if not env.refs_to(config.stack, default.get("kms_master_key_id"), "aws_kms_key", ("arn", "key_id", "id")):
            problems.append("kms_master_key_id must reference one of our aws_kms_key resources")
        if algorithm == "aws:kms" and not is_true(rule.get("bucket_key_enabled")):
            problems.append("bucket_key_enabled must be true")  # not offered for DSSE-KMS
    return problems


def _s3_cmk(env: Env) -> Iterator[Finding]:
    """CKV_AWS_19 passes with no configuration at all (own): every bucket has SSE-KMS with our CMK
    and an S3 Bucket Key (CKV_AWS_145 does not demand the key be ours).

    Exception: buckets that receive S3 server access logs may use SSE-S3 (AES256). The S3 User
    Guide, "Troubleshoot server access logging": "You can use default bucket encryption on the
    target bucket only if you use server-side encryption with Amazon S3 managed keys (SSE-S3).
    Default server-side encryption with AWS KMS keys (SSE-KMS) is not supported for server access
    logging target buckets." (aws-cdk PR #25350 reports SSE-KMS with a customer key working when
    the key policy admits logging.s3.amazonaws.com, so aws:kms stays accepted for them too.)
    S3 Bucket Keys are not supported with DSSE-KMS, so `bucket_key_enabled` is only demanded for
    `aws:kms`.
    """
    targets = {b.address for b in log_targets(env)}
    for bucket in env.all("aws_s3_bucket"):
        configs = _of_bucket(env, "aws_s3_bucket_server_side_encryption_configuration", bucket)
        if not configs:
            yield bucket.finding("S3_CMK", "has no aws_s3_bucket_server_side_encryption_configuration; add one with "
                                 "sse_algorithm aws:kms, kms_master_key_id = our key, bucket_key_enabled = true"
                                 + (" (or AES256: it receives access logs)" if bucket.address in targets else ""))
        for config in configs:
            for problem in _sse_problems(env, config, bucket.address in targets):
                yield bucket.finding("S3_CMK", f"{config.address}: {problem}")


def _arn_patterns(env: Env, bucket: Block, resource: str) -> tuple[bool, bool]:
    """Whether a policy resource string is this bucket's ARN, or its `/*` object ARN."""
    name = bucket.body.get("bucket")
    stem = resource.removesuffix("/*")
    literal = isinstance(name, str) and "${" not in name and re.fullmatch(rf"arn:[^:]+:s3:::{re.escape(name)}", stem)
    target = (bucket.stack, bucket.type, bucket.name)
    referenced = (stem.startswith("${") and stem.endswith("}") and stem.count("${") == 1
                  and any(ref.attr == "arn" and (ref.stack, ref.type, ref.name) == target
                          for ref in env.refs(bucket.stack, stem) if ref.resolved))
    matches = bool(literal or referenced)
    return matches and resource == stem, matches and resource != stem


def _denies_plain_http(env: Env, bucket: Block, stmt: PolicyStatement) -> bool:
    covers = [_arn_patterns(env, bucket, resource) for resource in stmt.resources]
    return (stmt.effect == "Deny" and "s3:*" in stmt.actions
            and any(is_star_principal(kind, ident) for kind, ident in stmt.principals)
            and any(whole for whole, _ in covers) and any(objects for _, objects in covers)
            and any(test == "Bool" and variable == "aws:SecureTransport" and [v.lower() for v in values] == ["false"]
                    for test, variable, values in stmt.conditions))


def _s3_tls_only(env: Env) -> Iterator[Finding]:
    """Security Hub S3.5 has no checkov counterpart (own): the bucket policy denies `s3:*` to
    every principal on the bucket and its objects when `aws:SecureTransport` is false."""
    for bucket in env.all("aws_s3_bucket"):
        statements = [stmt for policy in _of_bucket(env, "aws_s3_bucket_policy", bucket)
                      for stmt in env.policy(policy.stack, policy.body.get("policy")) or []]
        if not any(_denies_plain_http(env, bucket, stmt) for stmt in statements):
            yield bucket.finding("S3_TLS_ONLY", "needs an aws_s3_bucket_policy whose policy document has a Deny of "
                                 "s3:* for principal * on the bucket ARN and ARN/* with condition "
                                 "Bool aws:SecureTransport = \"false\"")


def _s3_private(env: Env) -> Iterator[Finding]:
    """CKV_AWS_53-56 / CKV2_AWS_6/65, restated here because they are per-resource and cannot tell
    which bucket a block belongs to when the `bucket` value comes from another stack."""
    for bucket in env.all("aws_s3_bucket"):
        blocks_ = _of_bucket(env, "aws_s3_bucket_public_access_block", bucket)
        if not any(all(is_true(pab.body.get(flag)) for flag in PAB_FLAGS) for pab in blocks_):
            yield bucket.finding("S3_PRIVATE", "needs an aws_s3_bucket_public_access_block with "
                                 f"{', '.join(PAB_FLAGS)} all true")
        controls = _of_bucket(env, "aws_s3_bucket_ownership_controls", bucket)
        if not any(rule.get("object_ownership") == "BucketOwnerEnforced"
                   for oc in controls for rule in blocks(oc.body, "rule")):
            yield bucket.finding("S3_PRIVATE", "needs aws_s3_bucket_ownership_controls with object_ownership "
                                 "BucketOwnerEnforced (ACLs off)")
        if as_list(bucket.body.get("acl")) not in ([], ["private"]):
            yield bucket.finding("S3_PRIVATE", f"acl is {bucket.body.get('acl')!r}; drop it (ACLs are disabled)")


RULES = (
    Rule("S3_CMK", "every bucket has SSE-KMS with our CMK and a bucket key (access-log targets may use AES256)",
         "S3 encrypted with CMK (CKV_AWS_145/19)", _s3_cmk),
    Rule("S3_TLS_ONLY", "every bucket policy denies s3:* when aws:SecureTransport is false",
         "S3 TLS only (Security Hub S3.5)", _s3_tls_only),
    Rule("S3_PRIVATE", "every bucket has a full public access block and BucketOwnerEnforced ownership",
         "S3 public access blocked, ACLs off (CKV_AWS_53-56, CKV2_AWS_6/65)", _s3_private),
)
