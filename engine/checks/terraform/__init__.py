"""Property checks over the synthesized Terraform JSON of one environment.

checkov covers most of SECURITY.md; the rows marked "own" there are the ones it cannot see
(a missing resource passes vacuously, a reference into another stack is opaque, a `*` inside a
policy document is skipped). Each rule here implements one or more of those rows over all stacks
at once, following cross-stack references back to the producing stack.

    findings = check_terraform({"network": {...}, "data": {...}, "cluster": {...}})

Pure: takes parsed `cdk.tf.json` documents, returns findings sorted by (rule, stack, address).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.checks.terraform import data, eks, iam, network, s3
from engine.checks.terraform.model import Env, Finding, Rule

RULES: tuple[Rule, ...] = (
    *data.RULES,
    *s3.RULES,
    *eks.RULES,
    *network.RULES,
    *iam.RULES,
)


def check_terraform(stacks: Mapping[str, Mapping[str, Any]], rules: tuple[Rule, ...] = RULES) -> list[Finding]:
    """Every finding of `rules` over the stacks of one environment (stack name -> cdk.tf.json)."""
    env = Env(stacks)
    found = {finding for rule in rules for finding in rule.check(env)}
    return sorted(found, key=lambda f: (f.rule, f.stack, f.address, f.message))


__all__ = ["RULES", "Finding", "Rule", "check_terraform"]
