"""Property checks over generated artefacts, for the controls of SECURITY.md that checkov misses."""

from engine.checks.terraform import RULES, Finding, Rule, check_terraform

__all__ = ["RULES", "Finding", "Rule", "check_terraform"]
