"""State bucket bootstrap against moto's HTTP server: creation, drift repair, and the errors.

Every setting is read back with plain boto3, independent of the code under test.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from engine.deploy.aws import aws_client, http_status
from engine.deploy.backend import TLS_STATEMENT_ID, ensure_state_bucket, tls_only_statement
from engine.errors import EngineError
from engine.resolve import StateLocation
from tests.deploy.moto_server import AwsEnv, closed_port, isolate_from_real_aws

LOCATION = StateLocation(bucket="acme-dev-tfstate-eu-west-1", region="eu-west-1", key_prefix="supa-engine",
                         environment="dev")


def s3(region: str = "eu-west-1") -> Any:
    return boto3.client("s3", region_name=region)


def assert_fully_configured(bucket: str, region: str = "eu-west-1") -> None:
    client = s3(region)
    assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["BucketKeyEnabled"] is True
    assert client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    rules = client.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    statements = json.loads(client.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    tls = [s for s in statements if s.get("Sid") == TLS_STATEMENT_ID]
    assert tls == [tls_only_statement(bucket, "aws")]
    assert tls[0]["Effect"] == "Deny" and tls[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_creates_bucket_with_every_setting(aws: AwsEnv) -> None:
    report = ensure_state_bucket(aws_client("s3", LOCATION.region), LOCATION, create=True)

    assert report.state == "created" and report.bucket == LOCATION.bucket
    assert "bucket created" in report.changes and "versioning enabled" in report.changes
    assert s3().get_bucket_location(Bucket=LOCATION.bucket)["LocationConstraint"] == "eu-west-1"
    assert_fully_configured(LOCATION.bucket)


def test_us_east_1_bucket_is_created_without_location_constraint(aws: AwsEnv) -> None:
    location = StateLocation("acme-dev-tfstate-us-east-1", "us-east-1", "supa-engine", "dev")
    report = ensure_state_bucket(aws_client("s3", "us-east-1"), location, create=True)

    assert report.state == "created"
    assert s3("us-east-1").get_bucket_location(Bucket=location.bucket)["LocationConstraint"] in (None, "us-east-1")
    assert_fully_configured(location.bucket, "us-east-1")


def test_second_run_changes_nothing(aws: AwsEnv) -> None:
    client = aws_client("s3", LOCATION.region)
    ensure_state_bucket(client, LOCATION, create=True)
    again = ensure_state_bucket(client, LOCATION, create=True)

    assert again.state == "exists" and again.changes == ()
    assert "settings as expected" in again.render()


def test_create_false_creates_nothing(aws: AwsEnv) -> None:
    report = ensure_state_bucket(aws_client("s3", LOCATION.region), LOCATION, create=False)

    assert report.state == "would create" and report.changes == ()
    assert "would be created" in report.render()
    assert s3().list_buckets()["Buckets"] == []


def test_drifted_settings_are_reconciled_and_reported(aws: AwsEnv) -> None:
    client = aws_client("s3", LOCATION.region)
    ensure_state_bucket(client, LOCATION, create=True)
    raw = s3()
    raw.put_bucket_versioning(Bucket=LOCATION.bucket, VersioningConfiguration={"Status": "Suspended"})
    raw.delete_public_access_block(Bucket=LOCATION.bucket)
    raw.delete_bucket_policy(Bucket=LOCATION.bucket)
    raw.put_bucket_encryption(Bucket=LOCATION.bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    raw.put_bucket_ownership_controls(Bucket=LOCATION.bucket,
                                      OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})

    report = ensure_state_bucket(client, LOCATION, create=False)

    assert report.state == "exists"
    assert set(report.changes) == {
        "versioning enabled",
        "default encryption set to SSE-KMS (aws/s3) with a bucket key",
        "public access block: all four settings on",
        "object ownership set to BucketOwnerEnforced (ACLs disabled)",
        f"bucket policy: TLS-only statement {TLS_STATEMENT_ID} added",
    }
    assert all(f"fixed: {change}" in report.render() for change in report.changes)
    assert_fully_configured(LOCATION.bucket)


def test_read_only_reports_drift_and_a_missing_bucket_but_writes_nothing(aws: AwsEnv) -> None:
    client = aws_client("s3", LOCATION.region)
    assert ensure_state_bucket(client, LOCATION, create=True, read_only=True).state == "would create"
    assert LOCATION.bucket not in [b["Name"] for b in s3().list_buckets()["Buckets"]]
    ensure_state_bucket(client, LOCATION, create=True)
    s3().put_bucket_versioning(Bucket=LOCATION.bucket, VersioningConfiguration={"Status": "Suspended"})

    report = ensure_state_bucket(client, LOCATION, create=False, read_only=True)

    assert report.changes == ("versioning enabled",)
    assert "apply would fix: versioning enabled" in report.render()
    assert s3().get_bucket_versioning(Bucket=LOCATION.bucket)["Status"] == "Suspended"


def test_partially_open_public_access_block_is_closed(aws: AwsEnv) -> None:
    client = aws_client("s3", LOCATION.region)
    ensure_state_bucket(client, LOCATION, create=True)
    s3().put_public_access_block(Bucket=LOCATION.bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": True})

    assert ensure_state_bucket(client, LOCATION, create=True).changes == ("public access block: all four settings on",)
    assert_fully_configured(LOCATION.bucket)


def test_existing_bucket_keeps_objects_and_foreign_policy_statements(aws: AwsEnv) -> None:
    raw = s3()
    raw.create_bucket(Bucket=LOCATION.bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    raw.put_object(Bucket=LOCATION.bucket, Key="supa-engine/dev/network.tfstate", Body=b'{"serial": 7}')
    before = raw.head_object(Bucket=LOCATION.bucket, Key="supa-engine/dev/network.tfstate")
    theirs = {"Sid": "AuditorsRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
              "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{LOCATION.bucket}/*"}
    raw.put_bucket_policy(Bucket=LOCATION.bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [theirs]}))

    report = ensure_state_bucket(aws_client("s3", LOCATION.region), LOCATION, create=True)

    assert report.state == "exists" and "bucket created" not in report.changes
    listed = raw.list_object_versions(Bucket=LOCATION.bucket)
    assert [(v["Key"], v["ETag"]) for v in listed["Versions"]] == [("supa-engine/dev/network.tfstate", before["ETag"])]
    assert "DeleteMarkers" not in listed
    # moto evaluates bucket policies: over its plain-HTTP endpoint the TLS-only statement now bites.
    with pytest.raises(ClientError) as denied:
        raw.get_object(Bucket=LOCATION.bucket, Key="supa-engine/dev/network.tfstate")
    assert http_status(denied.value) == 403
    statements = json.loads(raw.get_bucket_policy(Bucket=LOCATION.bucket)["Policy"])["Statement"]
    assert theirs in statements and tls_only_statement(LOCATION.bucket, "aws") in statements
    assert_fully_configured(LOCATION.bucket)


def test_customer_managed_kms_key_is_kept(aws: AwsEnv) -> None:
    client = aws_client("s3", LOCATION.region)
    ensure_state_bucket(client, LOCATION, create=True)
    cmk = {"Rules": [{"ApplyServerSideEncryptionByDefault": {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:eu-west-1:123456789012:key/abc"}}]}
    s3().put_bucket_encryption(Bucket=LOCATION.bucket, ServerSideEncryptionConfiguration=cmk)

    assert ensure_state_bucket(client, LOCATION, create=True).changes == ()
    rule = s3().get_bucket_encryption(Bucket=LOCATION.bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"].endswith("key/abc")


# --- errors ---------------------------------------------------------------------------------------


def test_bucket_of_another_account_is_a_clear_error(aws: AwsEnv) -> None:
    class ForbiddenHead:
        """moto has one account per endpoint, so the 403 of someone else's bucket is injected here."""

        def __init__(self, real: Any) -> None:
            self.real = real

        def head_bucket(self, **kwargs: Any) -> Any:
            response: Any = {"Error": {"Code": "403", "Message": "Forbidden"},
                             "ResponseMetadata": {"HTTPStatusCode": 403}}
            raise ClientError(response, "HeadBucket")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

    with pytest.raises(EngineError) as caught:
        ensure_state_bucket(ForbiddenHead(aws_client("s3", LOCATION.region)), LOCATION, create=True)

    assert LOCATION.bucket in caught.value.message and "another" in caught.value.message
    assert caught.value.hint is not None and "state.bucket" in caught.value.hint
    assert s3().list_buckets()["Buckets"] == []


def test_missing_credentials_are_a_clear_error_fast(aws: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_from_real_aws(monkeypatch)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    started = time.monotonic()

    with pytest.raises(EngineError) as caught:
        ensure_state_bucket(aws_client("s3", LOCATION.region), LOCATION, create=True)

    assert time.monotonic() - started < 5
    assert "credentials" in caught.value.message.lower()
    assert caught.value.hint is not None and "AWS_PROFILE" in caught.value.hint
    assert "AWS_ACCESS_KEY_ID" in caught.value.hint


def test_unknown_profile_is_a_clear_error(aws: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")

    with pytest.raises(EngineError) as caught:
        aws_client("s3", LOCATION.region)

    assert "no-such-profile" in caught.value.message
    assert caught.value.hint is not None and "AWS_PROFILE" in caught.value.hint


def test_unreachable_endpoint_is_a_clear_error_fast(aws: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()

    with pytest.raises(EngineError) as caught:
        ensure_state_bucket(aws_client("s3", LOCATION.region, attempts=2), LOCATION, create=True)

    assert time.monotonic() - started < 10
    assert "cannot reach AWS" in caught.value.message and LOCATION.bucket in caught.value.message
    assert caught.value.hint is not None and "AWS_ENDPOINT_URL" in caught.value.hint


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback server that accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_endpoint_that_never_answers_times_out_fast(
    aws: AwsEnv, monkeypatch: pytest.MonkeyPatch, silent_server: int
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent_server}")
    started = time.monotonic()

    with pytest.raises(EngineError) as caught:
        ensure_state_bucket(aws_client("s3", LOCATION.region, read_timeout=0.3, attempts=1), LOCATION, create=True)

    assert time.monotonic() - started < 5
    assert "did not answer in time" in caught.value.message
