"""What every check reports (a Finding) and what a check is (a Rule), for all checkers alike.

One shape lets synth, the tests and the checkov wrapper sort, compare and print findings the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

Subject = TypeVar("Subject")


@dataclass(frozen=True, order=True)
class Finding:
    """One violated control: which rule, where (a stack/address or Kind/namespace/name), what to change."""

    rule: str
    subject: str
    message: str

    def render(self) -> str:
        return f"{self.rule} {self.subject}: {self.message}"


@dataclass(frozen=True)
class Rule(Generic[Subject]):
    """One check: its id, what it demands, the SECURITY.md row it implements, and the function
    from what it inspects (Terraform stacks, manifests) to its findings."""

    id: str
    description: str
    source: str
    check: Callable[[Subject], Iterable[Finding]]


def run_rules(rules: Iterable[Rule[Subject]], subject: Subject) -> list[Finding]:
    """Every finding of `rules` over `subject`, deduplicated and sorted by (rule, subject, message)."""
    return sorted({finding for rule in rules for finding in rule.check(subject)})
