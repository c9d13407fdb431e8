"""Run a deploy plan stack by stack: plan, summarize, confirm, apply exactly the saved plan.

The first failing step stops the run, because later stacks read the outputs of earlier ones;
the error names the stack, the step and the last lines Terraform printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from engine.deploy.plan import DeployPlan, StackPlan, StepName
from engine.deploy.terraform import Result, Runner, SubprocessRunner, check_version, tail_lines
from engine.errors import EngineError

STDERR_LINES = 15  # lines of Terraform's stderr quoted in an error
_LOCK_ID = re.compile(r"^\s*ID:\s*(\S+)", re.MULTILINE)


# --- plan summaries --------------------------------------------------------------------------------


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


class StackFailed(EngineError):
    """A Terraform step failed; ``stack`` and ``step`` say where."""

    def __init__(self, message: str, hint: str | None, *, stack: str, step: str) -> None:
        super().__init__(message, hint)
        self.stack = stack
        self.step = step


class StateLocked(StackFailed):
    """Another run holds the stack's state lock."""

    def __init__(self, message: str, hint: str, *, stack: str, step: str, lock_id: str | None) -> None:
        super().__init__(message, hint, stack=stack, step=step)
        self.lock_id = lock_id


# --- the run -----------------------------------------------------------------------------------------

StackStatus = Literal["applied", "planned", "no changes", "declined", "not run", "waiting"]
# Terraform's words when a stack reads the outputs of a stack that has no state yet.
_NO_REMOTE_STATE = "Unable to find remote state"


@dataclass(frozen=True)
class StackOutcome:
    stack: str
    status: StackStatus
    summary: StackSummary | None = None
    # "waiting": the stacks (or the state bucket) that must be applied before this one can be planned.
    waits_for: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        counts = self.summary.as_dict() if self.summary is not None else None
        return {"name": self.stack, "status": self.status, "waits_for": list(self.waits_for),
                **({"add": None, "change": None, "destroy": None} if counts is None else counts)}

    def render(self) -> str:
        if self.status == "waiting":
            them = "it" if len(self.waits_for) == 1 else "them"
            return f"{self.stack:<10} waiting for {', '.join(self.waits_for)} (plannable once apply has created {them})"
        counts = f"  ({self.summary.headline()})" if self.summary is not None else ""
        return f"{self.stack:<10} {self.status}{counts}"


@dataclass(frozen=True)
class RunReport:
    action: str
    terraform_version: str
    stacks: tuple[StackOutcome, ...]

    @property
    def declined(self) -> bool:
        return any(s.status == "declined" for s in self.stacks)

    @property
    def has_changes(self) -> bool:
        """Whether `apply` would change anything: a stack with changes, or one that cannot be planned yet."""
        return any((s.summary is not None and s.summary.has_changes) or s.status == "waiting" for s in self.stacks)


def bucket_missing(plan: DeployPlan, version: str, progress: Callable[[str], None]) -> RunReport:
    """`plan` without a state bucket: there is no state, so every stack would be created; say so."""
    progress("no stack can be planned before apply creates the state bucket; every resource would be created")
    return RunReport(plan.action, version, tuple(StackOutcome(s.name, "waiting", waits_for=("the state bucket",))
                                                 for s in plan.stacks))


def run_plan(
    plan: DeployPlan,
    *,
    runner: Runner | None = None,
    confirm: Callable[[StackSummary], bool],
    progress: Callable[[str], None],
    after_stack: Callable[[StackOutcome], None] = lambda _: None,
    version: str | None = None,
) -> RunReport:
    """Execute ``plan``: per stack, in order, its steps (``init``, ``plan -out``, ``show -json``, ``apply``).

    ``confirm`` is asked once per stack whose plan has changes, after ``progress`` has been
    given the summary; returning False stops the run there (nothing more is applied, and the
    report says ``declined``). For ``--yes`` the CLI passes ``lambda _: True``. ``after_stack``
    runs after each stack that was not declined (the secrets bootstrap hooks in there).
    Raises :class:`StackFailed` (or :class:`StateLocked`) at the first failing step. For
    ``plan``, a stack that reads the outputs of a stack without state yet is ``waiting``, and
    the run goes on. ``version`` is the already checked Terraform version.
    """
    run = runner if runner is not None else SubprocessRunner(output=progress, prefix=True)
    if version is None:
        version = check_version(plan.terraform_bin, run, plan.manifest.parent)
    progress(f"{plan.action} with {plan.terraform_bin} {version}: {' -> '.join(plan.order)}")
    outcomes: list[StackOutcome] = []
    for stack in plan.stacks:
        outcome = _run_stack(plan, stack, run, confirm, progress)
        outcomes.append(outcome)
        if outcome.status == "declined":
            break
        after_stack(outcome)
    outcomes += [StackOutcome(s.name, "not run") for s in plan.stacks[len(outcomes):]]
    return RunReport(plan.action, version, tuple(outcomes))


def _run_stack(
    plan: DeployPlan,
    stack: StackPlan,
    run: Runner,
    confirm: Callable[[StackSummary], bool],
    progress: Callable[[str], None],
) -> StackOutcome:
    if not stack.working_dir.is_dir():
        raise StackFailed(f"stack {stack.name}: working directory {stack.working_dir} does not exist",
                          "Synthesize the environment again.", stack=stack.name, step="init")
    try:
        return _steps(plan, stack, run, confirm, progress)
    finally:
        _discard(stack)  # used, declined or failed: the saved plan holds values in clear text


def _steps(
    plan: DeployPlan,
    stack: StackPlan,
    run: Runner,
    confirm: Callable[[StackSummary], bool],
    progress: Callable[[str], None],
) -> StackOutcome:
    summary: StackSummary | None = None
    for step in stack.steps:
        if step.name == "apply":
            assert summary is not None  # the show step always precedes apply
            if not summary.has_changes:
                progress(f"[{stack.name}] nothing to apply")
                return StackOutcome(stack.name, "no changes", summary)
            if not confirm(summary):
                progress(f"[{stack.name}] not applied: declined")
                return StackOutcome(stack.name, "declined", summary)
        progress(f"[{stack.name}] terraform {step.name}")
        result = run(step.argv, stack.working_dir, quiet=step.name == "show")
        if result.returncode != 0:
            if plan.action == "plan" and step.name == "plan" and _NO_REMOTE_STATE in result.stderr + result.stdout:
                waits = stack.depends_on or ("the stacks it reads",)
                progress(f"[{stack.name}] waiting: it reads outputs of {', '.join(waits)}, which has no state yet")
                return StackOutcome(stack.name, "waiting", waits_for=waits)
            raise _failure(stack, step.name, result)
        if step.name == "show":
            summary = summarize(stack.name, result.stdout)
            progress(summary.render())
    if plan.action == "plan":
        return StackOutcome(stack.name, "planned", summary)
    return StackOutcome(stack.name, "applied", summary)


def _discard(stack: StackPlan) -> None:
    """Remove the saved plan once used: it holds the stack's values in clear text."""
    (stack.working_dir / stack.plan_file).unlink(missing_ok=True)


def _failure(stack: StackPlan, step: StepName, result: Result) -> StackFailed:
    text = result.stderr or result.stdout
    if "Error acquiring the state lock" in text:
        match = _LOCK_ID.search(text)
        lock_id = match.group(1) if match else None
        who = _lock_field(text, "Who")
        created = _lock_field(text, "Created")
        held = f" by {who}" + (f" since {created}" if created else "") if who else ""
        return StateLocked(
            f"stack {stack.name}: the Terraform state is locked{held} (lock ID {lock_id or 'unknown'}); "
            f"terraform {step} could not acquire it",
            "Another apply is probably running: wait for it. Only if you are sure no other run is active, "
            f"release the lock with `terraform force-unlock {lock_id or '<LOCK_ID>'}` in {stack.working_dir}.",
            stack=stack.name, step=step, lock_id=lock_id,
        )
    return StackFailed(
        f"stack {stack.name}: terraform {step} failed (exit {result.returncode}):\n{tail_lines(text, STDERR_LINES)}",
        "Fix the problem and run again; stacks that are already up to date show no changes.",
        stack=stack.name, step=step,
    )


def _lock_field(text: str, name: str) -> str | None:
    match = re.search(rf"^\s*{name}:\s*(.+?)\s*$", text, re.MULTILINE)
    return match.group(1) if match else None
