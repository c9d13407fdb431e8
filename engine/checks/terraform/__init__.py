"""Property checks over the synthesized Terraform JSON of one environment, all stacks at once.

They implement the SECURITY.md rows marked "own", which checkov passes vacuously or cannot see
(a missing resource, a reference into another stack, a `*` inside a policy document).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.checks.findings import Finding, Rule, run_rules
from engine.checks.terraform import data, eks, iam, network, s3, scoping
from engine.checks.terraform.model import Env

RULES: tuple[Rule[Env], ...] = (
    *data.RULES,
    *s3.RULES,
    *eks.RULES,
    *network.RULES,
    *iam.RULES,
    *scoping.RULES,
)


def check_terraform(stacks: Mapping[str, Mapping[str, Any]], rules: tuple[Rule[Env], ...] = RULES) -> list[Finding]:
    """Every finding of `rules` over the stacks of one environment (stack name -> cdk.tf.json)."""
    return run_rules(rules, Env(stacks))


__all__ = ["RULES", "check_terraform"]
