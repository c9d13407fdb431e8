"""Every alarm, the dashboard and the published parameters exist for each environment, with the
config's thresholds."""

from __future__ import annotations

import pytest

from tests.support import ENVIRONMENTS, Synthesized
from tests.targets.terraform.observability import assert_observability

PARTITION = "${data.aws_partition.partition.partition}"
ACCOUNT = "${data.aws_caller_identity.caller.account_id}"


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_alarms_dashboard_and_parameters(synthesized: dict[str, Synthesized], name: str) -> None:
    assert_observability(synthesized[name])


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_external_secrets_reads_exactly_the_published_parameters(synthesized: dict[str, Synthesized],
                                                                 name: str) -> None:
    out = synthesized[name]
    document = out.data("cluster", "aws_iam_policy_document")["irsa_secret_store_permissions"]
    (read,) = [s for s in document["statement"] if s["sid"] == "ReadPublishedFacts"]
    assert read["actions"] == ["ssm:GetParameter", "ssm:GetParameters"]
    # Named, not referenced (the cluster stack does not wait for the data stack): the ARN of a
    # parameter whose name starts with "/" is `...:parameter` + the name, one slash.
    prefix = f"arn:{PARTITION}:ssm:{out.resolved.config.project.region}:{ACCOUNT}:parameter"
    names = [p["name"] for p in out.resources("data", "aws_ssm_parameter").values()]
    assert names and all(n.startswith("/") for n in names)
    assert sorted(read["resources"]) == sorted(prefix + name for name in names)
