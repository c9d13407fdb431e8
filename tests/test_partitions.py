"""ARNs carry the partition of the region (aws, aws-cn, aws-us-gov): nothing hard-codes `arn:aws:`."""

from __future__ import annotations

import re
from pathlib import Path

from engine.config.model.project import partition_of
from engine.deploy.backend import tls_only_statement

ENGINE = Path(__file__).resolve().parents[1] / "engine"
# Config patterns and examples name every partition; the stand-ins are replaced by Terraform
# references before anything is written.
EXEMPT = {"config", "targets/terraform/workloads.py"}
LITERAL = re.compile(r"arn:aws:")


def test_no_source_hard_codes_the_aws_partition() -> None:
    found = []
    for path in sorted(ENGINE.rglob("*.py")):
        relative = path.relative_to(ENGINE).as_posix()
        if relative.split("/")[0] in EXEMPT or relative in EXEMPT:
            continue
        found += [f"{relative}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1) if LITERAL.search(line)]
    assert found == []


def test_state_bucket_policy_uses_the_state_regions_partition() -> None:
    for region, partition in (("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("eu-west-1", "aws")):
        statement = tls_only_statement("state", partition_of(region))
        assert statement["Resource"] == [f"arn:{partition}:s3:::state", f"arn:{partition}:s3:::state/*"]
