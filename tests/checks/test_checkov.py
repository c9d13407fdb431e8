"""The checkov wrapper: its skips file, the stack sanitizing, and how a report is read."""

from __future__ import annotations

import json
import re

from engine.checks import Finding
from engine.checks.checkov import Skip, _report, _sanitized, load_skips


def test_every_skip_has_a_reason() -> None:
    skips = load_skips()
    assert skips
    assert all(len(skip.reason) > 20 for skip in skips.values())


def test_scoped_skip_covers_only_its_resources() -> None:
    skip = Skip("CKV_AWS_145", "log bucket", ("aws_s3_bucket.log_bucket",))
    assert skip.covers(Finding("CKV_AWS_145", "aws_s3_bucket.log_bucket", "x"))
    assert not skip.covers(Finding("CKV_AWS_145", "aws_s3_bucket.storage_bucket", "x"))
    assert not skip.covers(Finding("CKV_AWS_18", "aws_s3_bucket.log_bucket", "x"))


def test_sanitizing_keeps_blocks_and_drops_scalars() -> None:
    stack = {"terraform": {"required_version": ">= 1.10.0", "backend": {"s3": {}}}, "resource": {}}
    assert _sanitized(stack) == {"terraform": {"backend": {"s3": {}}}, "resource": {}}


def test_report_separates_skipped_from_failed() -> None:
    failed = [{"check_id": "CKV_AWS_144", "resource": "aws_s3_bucket.a", "file_path": "/s/cdk.tf.json"},
              {"check_id": "CKV_AWS_1", "resource": "data.x", "file_path": "/s/cdk.tf.json"}]
    output = json.dumps({"check_type": "terraform_json",
                         "results": {"passed_checks": [{}], "failed_checks": failed, "parsing_errors": []}})
    report = _report(output, "", {"CKV_AWS_144": Skip("CKV_AWS_144", "no second region")})
    assert (report.passed, [f.rule for f in report.failed], [f.rule for f in report.skipped]) == (
        1, ["CKV_AWS_1"], ["CKV_AWS_144"])


def test_report_counts_checkovs_own_skips() -> None:
    skipped = [{"check_id": "CKV_K8S_35", "resource": "Deployment.supabase.kong", "file_path": "/manifests.yaml"}]
    output = json.dumps([{"check_type": "kubernetes",
                          "results": {"passed_checks": [], "failed_checks": [], "skipped_checks": skipped}}])
    report = _report(output, "", {}, "kubernetes")
    assert report.failed == [] and [f.subject for f in report.skipped] == ["Deployment.supabase.kong"]


def test_rotation_skip_claims_only_rotation_that_exists() -> None:
    # The skip once said supa-engine rotates these secrets; nothing did. A reason may claim
    # engine-driven rotation only once the CLI has a `secrets rotate` command.
    from engine.cli import secrets

    reason = load_skips()["CKV2_AWS_57"].reason.lower()
    engine_rotates = re.search(r"supa-engine[^.]*\brotates\b(?! by rds)", reason) is not None \
        and "does not rotate" not in reason
    assert not engine_rotates or "rotate" in secrets.commands
