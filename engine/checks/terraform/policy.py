"""IAM policy statements, read from `aws_iam_policy_document` data sources or literal JSON policies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.checks.terraform.json import Json, as_list, blocks


@dataclass(frozen=True)
class PolicyStatement:
    """One IAM policy statement, from a policy document data source or a literal JSON policy."""

    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    principals: tuple[tuple[str, str], ...]  # (type, identifier)
    not_principals: tuple[tuple[str, str], ...]
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (test, variable, values)


def document_statement(stmt: Json) -> PolicyStatement:
    def principals(key: str) -> tuple[tuple[str, str], ...]:
        return tuple((str(p.get("type", "")), str(ident))
                     for p in blocks(stmt, key) for ident in as_list(p.get("identifiers")))

    return PolicyStatement(
        effect=str(stmt.get("effect", "Allow")),
        actions=tuple(str(a) for a in as_list(stmt.get("actions"))),
        not_actions=tuple(str(a) for a in as_list(stmt.get("not_actions"))),
        resources=tuple(str(r) for r in as_list(stmt.get("resources"))),
        not_resources=tuple(str(r) for r in as_list(stmt.get("not_resources"))),
        principals=principals("principals"),
        not_principals=principals("not_principals"),
        conditions=tuple((str(c.get("test", "")), str(c.get("variable", "")),
                          tuple(str(v) for v in as_list(c.get("values")))) for c in blocks(stmt, "condition")),
    )


def json_statements(policy: Json) -> list[PolicyStatement]:
    def principals(value: Any) -> tuple[tuple[str, str], ...]:
        if value == "*":
            return (("*", "*"),)
        if not isinstance(value, Mapping):
            return ()
        return tuple((str(kind), str(ident)) for kind, idents in value.items() for ident in as_list(idents))

    found = []
    for stmt in as_list(policy.get("Statement")):
        if not isinstance(stmt, Mapping):
            continue
        conditions = stmt.get("Condition", {})
        found.append(PolicyStatement(
            effect=str(stmt.get("Effect", "")),
            actions=tuple(str(a) for a in as_list(stmt.get("Action"))),
            not_actions=tuple(str(a) for a in as_list(stmt.get("NotAction"))),
            resources=tuple(str(r) for r in as_list(stmt.get("Resource"))),
            not_resources=tuple(str(r) for r in as_list(stmt.get("NotResource"))),
            principals=principals(stmt.get("Principal")),
            not_principals=principals(stmt.get("NotPrincipal")),
            conditions=tuple((str(test), str(var), tuple(str(v) for v in as_list(vals)))
                             for test, pairs in (conditions.items() if isinstance(conditions, Mapping) else ())
                             if isinstance(pairs, Mapping) for var, vals in pairs.items()),
        ))
    return found


def is_star_principal(kind: str, identifier: str) -> bool:
    """`*` as a principal: `{"type": "*"}` or `{"type": "AWS", "identifiers": ["*"]}`."""
    return kind == "*" or (kind == "AWS" and identifier == "*")
