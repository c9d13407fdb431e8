"""A read-only index over one environment's Terraform JSON, answering the rules' questions once.

CDK Terrain's shapes are handled here (single blocks as objects or one-element lists, policy
documents as data sources, cross-stack values followed back to the producing stack's output).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.checks.findings import Finding
from engine.checks.terraform.json import Json, as_list, block, blocks, interpolations, strings
from engine.checks.terraform.policy import PolicyStatement, document_statement, json_statements

CROSS_STACK_OUTPUT = "cross-stack-output-"
CROSS_STACK_INPUT = "cross-stack-reference-input-"

# One traversal inside an interpolation: `aws_x.name`, `aws_x.name[0].attr`, `data.aws_y.name.attr`,
# `data.terraform_remote_state.input.outputs.output`. A type needs an underscore (a provider
# prefix), which keeps `count.index`, `var.x`, `local.x` and `terraform.workspace` out.
_TRAVERSAL = re.compile(
    r"(?<![\w.\-])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w\-]*)"
    r"(?:\[[^\]]*\])?(?:\.([\w\-]+))?(?:\.([\w\-]+))?"
)


@dataclass(frozen=True)
class Block:
    """One `resource` or `data` block of a stack."""

    stack: str
    mode: str  # "resource" or "data"
    type: str
    name: str
    body: Json

    @property
    def address(self) -> str:
        prefix = "data." if self.mode == "data" else ""
        return f"{prefix}{self.type}.{self.name}"

    def finding(self, rule: str, message: str) -> Finding:
        return Finding(rule, f"{self.stack}/{self.address}", message)


@dataclass(frozen=True)
class Ref:
    """Where a reference points. `resolved` is False for a cross-stack output whose producing
    stack is not among the checked stacks: then only `output` (its name) is known."""

    stack: str
    mode: str
    type: str
    name: str
    attr: str
    resolved: bool = True
    output: str = ""

    def is_a(self, rtype: str, attrs: Sequence[str] = ()) -> bool:
        """True when this points at a `rtype` (and, if given, one of `attrs`).

        An unresolved cross-stack output is judged by its cdktn name,
        `cross-stack-output-<type><name><attr>`, which keeps the type as a prefix.
        """
        if self.resolved:
            return self.mode == "resource" and self.type == rtype and (not attrs or self.attr in attrs)
        rest = self.output.removeprefix(CROSS_STACK_OUTPUT)
        if not rest.startswith(rtype) or rest[len(rtype):].startswith("_"):
            return False
        return not attrs or any(rest.endswith(attr.replace(".", "")) for attr in attrs)


@dataclass
class Env:
    """All stacks of one environment, indexed for the rules."""

    stacks: Mapping[str, Json]
    _by_key: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        for stack, doc in self.stacks.items():
            key = block(block(doc, "terraform"), "backend").get("s3", {})
            if isinstance(key, Mapping) and isinstance(key.get("key"), str):
                self._by_key[key["key"]] = stack

    # --- blocks -------------------------------------------------------------------------------

    def all(self, rtype: str, mode: str = "resource") -> list[Block]:
        """Every block of a type in every stack, in stable (stack, name) order."""
        found = []
        for stack in sorted(self.stacks):
            section = self.stacks[stack].get(mode, {})
            of_type = section.get(rtype, {}) if isinstance(section, Mapping) else {}
            if isinstance(of_type, Mapping):
                found += [Block(stack, mode, rtype, name, body) for name, body in sorted(of_type.items())
                          if isinstance(body, Mapping)]
        return found

    def get(self, ref: Ref) -> Block | None:
        if not ref.resolved:
            return None
        section = self.stacks.get(ref.stack, {}).get(ref.mode, {})
        body = section.get(ref.type, {}).get(ref.name) if isinstance(section, Mapping) else None
        return Block(ref.stack, ref.mode, ref.type, ref.name, body) if isinstance(body, Mapping) else None

    # --- references ---------------------------------------------------------------------------

    def refs(self, stack: str, value: Any, depth: int = 0) -> list[Ref]:
        """Everything a value refers to, with cross-stack outputs followed to their producer."""
        found: list[Ref] = []
        for text in strings(value):
            for expression in interpolations(text):
                for match in _TRAVERSAL.finditer(expression):
                    found += self._ref(stack, match, depth)
        return found

    def refs_to(self, stack: str, value: Any, rtype: str, attrs: Sequence[str] = ()) -> list[Ref]:
        return [ref for ref in self.refs(stack, value) if ref.is_a(rtype, attrs)]

    def points_to(self, stack: str, value: Any, target: Block) -> bool:
        """True when a value refers to exactly this block (any attribute)."""
        return any(ref.resolved and (ref.stack, ref.mode, ref.type, ref.name)
                   == (target.stack, target.mode, target.type, target.name)
                   for ref in self.refs(stack, value))

    def _ref(self, stack: str, match: re.Match[str], depth: int) -> list[Ref]:
        is_data, rtype, name, attr, sub = match.groups()
        if is_data and rtype == "terraform_remote_state" and attr == "outputs" and sub:
            return self._cross_stack(stack, name, sub, depth)
        return [Ref(stack, "data" if is_data else "resource", rtype, name, attr or "")]

    def _cross_stack(self, stack: str, input_name: str, output: str, depth: int) -> list[Ref]:
        producer = self._producer(stack, input_name)
        if producer is None:
            return [Ref("", "output", "", "", "", resolved=False, output=output)]
        body = self.stacks[producer].get("output", {}).get(output)
        if not isinstance(body, Mapping) or depth > len(self.stacks):
            return []  # a dangling reference proves nothing
        return self.refs(producer, body.get("value"), depth + 1)

    def _producer(self, stack: str, input_name: str) -> str | None:
        remote = self.stacks.get(stack, {}).get("data", {}).get("terraform_remote_state", {}).get(input_name)
        config = remote.get("config", {}) if isinstance(remote, Mapping) else {}
        by_key = self._by_key.get(config.get("key", "")) if isinstance(config, Mapping) else None
        if by_key is not None:
            return by_key
        guess = input_name.removeprefix(CROSS_STACK_INPUT)
        return guess if guess in self.stacks else None

    # --- policies -----------------------------------------------------------------------------

    def document_ref(self, stack: str, value: Any) -> Block | None:
        """The policy document a value is exactly `${data.aws_iam_policy_document.<name>.json}` of."""
        if not isinstance(value, str):
            return None
        refs = self.refs(stack, value)
        if len(refs) != 1 or (refs[0].mode, refs[0].type, refs[0].attr) != ("data", "aws_iam_policy_document", "json"):
            return None
        if value.strip() != f"${{data.aws_iam_policy_document.{refs[0].name}.json}}":
            return None
        return self.get(refs[0])

    def policy(self, stack: str, value: Any) -> list[PolicyStatement] | None:
        """The statements of a policy attribute: a policy document reference or a literal JSON
        string. None when it is neither (e.g. `${jsonencode(...)}`), so it cannot be inspected."""
        doc = self.document_ref(stack, value)
        if doc is not None:
            return self.document(doc)
        if not isinstance(value, str) or value.lstrip().startswith("${"):
            return None
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return json_statements(parsed) if isinstance(parsed, Mapping) else None

    def document(self, doc: Block, merged: bool = True, depth: int = 0) -> list[PolicyStatement]:
        """Statements of an `aws_iam_policy_document`, with its source/override documents unless
        `merged` is False."""
        found: list[PolicyStatement] = []
        for key in ("source_policy_documents", "override_policy_documents") if merged and depth < 8 else ():
            for item in as_list(doc.body.get(key)):
                source = self.document_ref(doc.stack, item)
                found += self.document(source, True, depth + 1) if source is not None else []
        return found + [document_statement(stmt) for stmt in blocks(doc.body, "statement")]
