"""What a stack's saved plan changes, read from `terraform show -json`: counts, resources, warnings.

The summary is what a confirmation shows, so every destroyed or replaced resource is called out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from engine.errors import EngineError


@dataclass(frozen=True)
class ResourceChange:
    address: str
    action: Literal["create", "update", "delete", "replace", "forget"]
    # Top-level attributes whose value changes (updates and replacements); what forces a replacement.
    attributes: tuple[str, ...] = ()
    replace_because: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackSummary:
    """The changes of one stack's saved plan, from ``terraform show -json``."""

    stack: str
    changes: tuple[ResourceChange, ...]
    outputs_change: bool = False

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change.action == action)

    @property
    def add(self) -> int:
        return self.count("create") + self.count("replace")

    @property
    def change(self) -> int:
        return self.count("update")

    @property
    def destroy(self) -> int:
        return self.count("delete") + self.count("replace")

    @property
    def has_changes(self) -> bool:
        return bool(self.changes) or self.outputs_change

    def headline(self) -> str:
        """Terraform's own "N to add, ..." line, with what is destroyed named."""
        if not self.has_changes:
            return "no changes"
        head = f"{self.add} to add, {self.change} to change, {self.destroy} to destroy"
        if self.count("forget"):
            head += f", {self.count('forget')} to forget"
        if self.count("delete") or self.count("replace"):
            head += f" (DESTROYS {self.count('delete')}, REPLACES {self.count('replace')})"
        return head

    def render(self) -> str:
        """The headline, one line per resource with its changed attributes, and a call-out of
        every resource that is destroyed or replaced (data in it is gone)."""
        if not self.has_changes:
            return f"{self.stack}: no changes"
        marks = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "forget": "."}
        lines = [f"{self.stack}: {self.headline()}"]
        for c in self.changes:
            detail = f" ({', '.join(c.attributes)})" if c.attributes and c.action in ("update", "replace") else ""
            lines.append(f"  {marks[c.action]:>3} {c.address}{detail}")
        for c in self.changes:
            if c.action == "delete":
                lines.append(f"  WARNING: {c.address} will be DESTROYED")
            elif c.action == "replace":
                why = f" because of {', '.join(c.replace_because)}" if c.replace_because else ""
                lines.append(f"  WARNING: {c.address} will be DESTROYED and created again{why}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"add": self.add, "change": self.change, "destroy": self.destroy,
                "replace": self.count("replace"), "has_changes": self.has_changes,
                "resources": [{"address": c.address, "action": c.action, "attributes": list(c.attributes)}
                              for c in self.changes]}


def summarize(stack: str, show_json: str) -> StackSummary:
    """Parse ``terraform show -json <plan>`` into a :class:`StackSummary`."""
    try:
        data = json.loads(show_json)
    except json.JSONDecodeError as exc:
        raise EngineError(f"stack {stack}: cannot read the plan summary from `terraform show -json`: {exc}") from None
    changes = []
    for item in data.get("resource_changes") or []:
        change = item.get("change") or {}
        action = _ACTIONS.get(tuple(change.get("actions", ())))
        if action is not None:
            because = tuple(".".join(str(part) for part in path) for path in change.get("replace_paths") or ())
            changes.append(ResourceChange(str(item.get("address", "?")), action, _changed(change), because))
    output_changes = (data.get("output_changes") or {}).values()
    outputs = any(tuple(o.get("actions", ())) not in (("no-op",), ()) for o in output_changes)
    return StackSummary(stack, tuple(changes), outputs)


def _changed(change: dict[str, Any]) -> tuple[str, ...]:
    """Top-level attributes that differ between ``before`` and ``after`` (or become known later)."""
    before, after = change.get("before"), change.get("after")
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ()
    raw = change.get("after_unknown")
    unknown: dict[str, Any] = raw if isinstance(raw, dict) else {}
    keys = sorted(set(before) | set(after))
    return tuple(k for k in keys if before.get(k) != after.get(k) or unknown.get(k) is True)


_ACTIONS: dict[tuple[str, ...], Literal["create", "update", "delete", "replace", "forget"]] = {
    ("create",): "create",
    ("update",): "update",
    ("delete",): "delete",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
    ("forget",): "forget",
}  # ("no-op",) and ("read",) change nothing
