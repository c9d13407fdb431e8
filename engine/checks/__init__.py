"""Invariants over the compiled output, for the controls of SECURITY.md that checkov misses.

`check_all` is the check stage of synth: every rule over one environment's Terraform stacks,
rendered manifests and NetworkPolicies, as one list of findings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.checks.findings import Finding, Rule
from engine.checks.kubernetes import Manifest, check_manifests
from engine.checks.policies import check_policies
from engine.checks.terraform import check_terraform
from engine.graph import Flow


def check_all(stacks: Mapping[str, Mapping[str, Any]], manifests: Sequence[Manifest], *,
              registries: Sequence[str], namespace_labels: Mapping[str, Mapping[str, str]],
              flows: Sequence[Flow]) -> list[Finding]:
    """Every finding over one environment: Terraform first, then manifests, then NetworkPolicies."""
    return [
        *check_terraform(stacks),
        *check_manifests(manifests, registries=registries, namespace_labels=namespace_labels),
        *check_policies(manifests, flows),
    ]


__all__ = ["Finding", "Rule", "check_all"]
