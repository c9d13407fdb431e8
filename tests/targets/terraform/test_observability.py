"""Every alarm, the dashboard and the published parameters exist for each environment, with the
config's thresholds."""

from __future__ import annotations

import pytest

from tests.support import ENVIRONMENTS, Synthesized
from tests.targets.terraform.observability import assert_observability


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
    assert len(read["resources"]) == len(out.resources("data", "aws_ssm_parameter"))
    assert all(r.startswith("${data.terraform_remote_state.cross-stack-reference-input-data.") for r in
               read["resources"])
