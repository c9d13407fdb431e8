"""The S3 bucket that holds an environment's Terraform state, created or repaired before `init`.

Terraform cannot create the bucket its own backend lives in, so the engine does, with boto3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from engine.config.model.project import partition_of
from engine.deploy.aws import aws_errors, error_code, http_status
from engine.errors import EngineError
from engine.resolve import StateLocation

TLS_STATEMENT_ID = "DenyInsecureTransport"
_PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
_ENCRYPTION = {
    "Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
    ]
}
_KMS_ALGORITHMS = {"aws:kms", "aws:kms:dsse"}

BucketState = Literal["created", "exists", "would create"]


@dataclass(frozen=True)
class BackendReport:
    """What :func:`ensure_state_bucket` found and did.

    ``changes`` lists each setting that was put in place ("versioning enabled", ...): on a
    new bucket everything the engine set, on an existing one only what had drifted.
    """

    bucket: str
    region: str
    state: BucketState
    changes: tuple[str, ...]
    read_only: bool = False  # `plan`: ``changes`` are what `apply` would put back, not done yet

    def render(self) -> str:
        if self.state == "would create":
            return (f"state bucket {self.bucket} ({self.region}) does not exist: apply creates it, "
                    "and every stack would be created")
        head = f"state bucket {self.bucket} ({self.region}): {self.state}"
        if not self.changes:
            return head + ", settings as expected"
        verb = "apply would fix" if self.read_only else "fixed"
        return head + "\n" + "\n".join(f"  {verb}: {change}" for change in self.changes)


def ensure_state_bucket(s3_client: Any, location: StateLocation, *, create: bool,
                        read_only: bool = False) -> BackendReport:
    """Make sure the state bucket of ``location`` exists with its settings, putting back any that drifted.

    The settings: versioning, SSE-KMS with a Bucket Key (a customer managed key or DSSE-KMS
    already in place is kept), the public access block, ``BucketOwnerEnforced`` and a TLS-only
    policy statement beside any others. Nothing is ever deleted. A bucket that answers 403
    belongs to someone else, and the engine asks for another ``state.bucket``.

    With ``create=False`` a missing bucket is only reported (state ``would create``) and
    nothing is written; the CLI asks the user and calls again with ``create=True``. With
    ``read_only`` (for `plan`) nothing is ever written: drifted settings are only reported.
    """
    bucket = location.bucket
    exists = _bucket_exists(s3_client, location)
    if not exists and (read_only or not create):
        return BackendReport(bucket, location.region, "would create", (), read_only)
    changes: list[str] = []
    if not exists:
        _create_bucket(s3_client, location)
        changes.append("bucket created")
    with aws_errors(f"checking the settings of state bucket {bucket}"):
        changes += _reconcile(s3_client, bucket, partition_of(location.region), fix=not read_only)
    return BackendReport(bucket, location.region, "exists" if exists else "created", tuple(changes), read_only)


def tls_only_statement(bucket: str, partition: str) -> dict[str, Any]:
    """The policy statement that refuses any request to the bucket not made over TLS.

    `partition` is the state region's (`aws`, `aws-cn`, `aws-us-gov`): S3 ARNs carry it.
    """
    return {
        "Sid": TLS_STATEMENT_ID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


# --- existence and creation ----------------------------------------------------------------------


def _bucket_exists(s3: Any, location: StateLocation) -> bool:
    bucket = location.bucket
    with aws_errors(f"looking up state bucket {bucket}"):
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as exc:
            status, code = http_status(exc), error_code(exc)
            if status == 404 or code in {"404", "NoSuchBucket"}:
                return False
            if status == 403 or code in {"403", "AccessDenied"}:
                raise _not_ours(bucket) from None
            if status == 301 or code in {"301", "PermanentRedirect"}:
                headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                actual = headers.get("x-amz-bucket-region", "another region")
                raise EngineError(
                    f"state bucket {bucket} is in {actual}, not in {location.region}",
                    hint=f"Set state.region to {actual}, or choose another state.bucket.",
                ) from None
            raise
    return True


def _create_bucket(s3: Any, location: StateLocation) -> None:
    arguments: dict[str, Any] = {"Bucket": location.bucket, "ObjectOwnership": "BucketOwnerEnforced"}
    if location.region != "us-east-1":  # us-east-1 is the default and rejects an explicit constraint
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": location.region}
    with aws_errors(f"creating state bucket {location.bucket} in {location.region}"):
        try:
            s3.create_bucket(**arguments)
        except ClientError as exc:
            if error_code(exc) == "BucketAlreadyOwnedByYou":
                return  # created by a concurrent run between our lookup and now
            if error_code(exc) == "BucketAlreadyExists":
                raise _not_ours(location.bucket) from None
            raise
        s3.get_waiter("bucket_exists").wait(Bucket=location.bucket, WaiterConfig={"Delay": 1, "MaxAttempts": 20})


def _not_ours(bucket: str) -> EngineError:
    return EngineError(
        f"state bucket {bucket} exists but this AWS identity cannot access it: it belongs to another "
        "account (bucket names are global), or your credentials lack s3:ListBucket on it",
        hint="Set state.bucket in supabase.yaml to a name you own (or that is still free), "
        "or use credentials of the account that owns it.",
    )


# --- the settings ----------------------------------------------------------------------------------


def _reconcile(s3: Any, bucket: str, partition: str, *, fix: bool) -> list[str]:
    """Put back (only with ``fix``) every setting that is not as required; return what differs."""
    changes = []
    if _versioning_fixed(s3, bucket, fix):
        changes.append("versioning enabled")
    if _encryption_fixed(s3, bucket, fix):
        changes.append("default encryption set to SSE-KMS (aws/s3) with a bucket key")
    if _public_access_block_fixed(s3, bucket, fix):
        changes.append("public access block: all four settings on")
    if _ownership_fixed(s3, bucket, fix):
        changes.append("object ownership set to BucketOwnerEnforced (ACLs disabled)")
    if _policy_fixed(s3, bucket, partition, fix):
        changes.append(f"bucket policy: TLS-only statement {TLS_STATEMENT_ID} added")
    return changes


def _get(call: Any, missing_codes: set[str], **arguments: Any) -> dict[str, Any] | None:
    """Call a Get* operation; ``None`` when AWS says the setting does not exist."""
    try:
        return dict(call(**arguments))
    except ClientError as exc:
        if error_code(exc) in missing_codes:
            return None
        raise


def _versioning_fixed(s3: Any, bucket: str, fix: bool) -> bool:
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled":
        return False
    if not fix:
        return True
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return True


def _encryption_fixed(s3: Any, bucket: str, fix: bool) -> bool:
    current = _get(s3.get_bucket_encryption, {"ServerSideEncryptionConfigurationNotFoundError"}, Bucket=bucket)
    rules = (current or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    algorithms = {r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules}
    if algorithms and algorithms <= _KMS_ALGORITHMS:
        return False
    if not fix:
        return True
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=_ENCRYPTION)
    return True


def _public_access_block_fixed(s3: Any, bucket: str, fix: bool) -> bool:
    current = _get(s3.get_public_access_block, {"NoSuchPublicAccessBlockConfiguration"}, Bucket=bucket)
    if current is not None and current.get("PublicAccessBlockConfiguration") == _PUBLIC_ACCESS_BLOCK:
        return False
    if not fix:
        return True
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=_PUBLIC_ACCESS_BLOCK)
    return True


def _ownership_fixed(s3: Any, bucket: str, fix: bool) -> bool:
    current = _get(s3.get_bucket_ownership_controls, {"OwnershipControlsNotFoundError"}, Bucket=bucket)
    rules = (current or {}).get("OwnershipControls", {}).get("Rules", [])
    if [r.get("ObjectOwnership") for r in rules] == ["BucketOwnerEnforced"]:
        return False
    if not fix:
        return True
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    return True


def _policy_fixed(s3: Any, bucket: str, partition: str, fix: bool) -> bool:
    current = _get(s3.get_bucket_policy, {"NoSuchBucketPolicy"}, Bucket=bucket)
    policy: dict[str, Any] = json.loads(current["Policy"]) if current else {"Version": "2012-10-17", "Statement": []}
    statements = policy.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    wanted = tls_only_statement(bucket, partition)
    if any(_normalized(s) == _normalized(wanted) for s in statements):
        return False
    # Replace a stale statement of ours (same Sid); keep everybody else's.
    policy["Statement"] = [s for s in statements if s.get("Sid") != TLS_STATEMENT_ID] + [wanted]
    if not fix:
        return True
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return True


def _normalized(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement with one-element lists and list order smoothed out, for comparison."""

    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list):
            items = sorted((norm(v) for v in value), key=json.dumps)
            return items[0] if len(items) == 1 else items
        return str(value).lower() if isinstance(value, bool) else value

    return {k: norm(v) for k, v in statement.items() if k != "Sid"}
