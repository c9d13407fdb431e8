"""checkov (offline) finds nothing in the example environments beyond the documented skips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.targets.terraform.checkov import Finding, Skip, _report, _sanitized, load_skips, run_checkov
from tests.targets.terraform.conftest import ENVIRONMENTS, Synthesized


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_failed_checks(synthesized: dict[str, Synthesized], env: str) -> None:
    report = run_checkov(synthesized[env].outdir, load_skips())
    print(f"{env}: passed={report.passed} failed={len(report.failed)} skipped={len(report.skipped)}")
    assert report.parsing_errors == []
    assert report.passed > 300  # a run that parsed nothing would pass vacuously
    assert [f.render() for f in report.failed] == []


def test_every_skip_has_a_reason() -> None:
    skips = load_skips()
    assert skips
    assert all(len(skip.reason) > 20 for skip in skips.values())


def test_scoped_skip_covers_only_its_resources() -> None:
    skip = Skip("CKV_AWS_145", "log bucket", ("aws_s3_bucket.log_bucket",))
    assert skip.covers(Finding("CKV_AWS_145", "", "aws_s3_bucket.log_bucket", "x"))
    assert not skip.covers(Finding("CKV_AWS_145", "", "aws_s3_bucket.storage_bucket", "x"))
    assert not skip.covers(Finding("CKV_AWS_18", "", "aws_s3_bucket.log_bucket", "x"))


def test_sanitizing_keeps_blocks_and_drops_scalars() -> None:
    stack = {"terraform": {"required_version": ">= 1.10.0", "backend": {"s3": {}}}, "resource": {}}
    assert _sanitized(stack) == {"terraform": {"backend": {"s3": {}}}, "resource": {}}


def test_report_separates_skipped_from_failed(tmp_path: Path) -> None:
    failed = [{"check_id": "CKV_AWS_144", "resource": "aws_s3_bucket.a", "file_path": "/s/cdk.tf.json"},
              {"check_id": "CKV_AWS_1", "resource": "data.x", "file_path": "/s/cdk.tf.json"}]
    output = json.dumps({"check_type": "terraform_json",
                         "results": {"passed_checks": [{}], "failed_checks": failed, "parsing_errors": []}})
    report = _report(output, "", {"CKV_AWS_144": Skip("CKV_AWS_144", "no second region")})
    assert (report.passed, [f.check_id for f in report.failed], [f.check_id for f in report.skipped]) == (
        1, ["CKV_AWS_1"], ["CKV_AWS_144"])
