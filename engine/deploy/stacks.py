"""One stack's Terraform steps: plan and summarize it, apply exactly the saved plan; and what came of it.

engine.deploy.levels runs these for every stack of a level at the same time. A failing step is
a :class:`StackFailed` naming the stack, the step and the last lines Terraform printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from engine.deploy.plan import DeployPlan, StackPlan, StepName
from engine.deploy.summary import ResourceChange, StackSummary, summarize
from engine.deploy.terraform import Result, Runner, tail_lines
from engine.errors import EngineError

__all__ = ["ResourceChange", "RunReport", "StackFailed", "StackOutcome", "StackSummary", "StateLocked",
           "apply_stack", "bucket_missing", "discard", "prepare_stack", "summarize"]

STDERR_LINES = 15  # lines of Terraform's stderr quoted in an error
_LOCK_ID = re.compile(r"^\s*ID:\s*(\S+)", re.MULTILINE)


class StackFailed(EngineError):
    """A Terraform step (or the hook after a stack) failed; ``stack`` and ``step`` say where.

    ``report`` is set once the run has stopped: what became of every stack.
    """

    def __init__(self, message: str, hint: str | None, *, stack: str, step: str) -> None:
        super().__init__(message, hint)
        self.stack = stack
        self.step = step
        self.report: RunReport | None = None

    def details(self) -> dict[str, object]:
        return {} if self.report is None else {"stacks": [o.as_dict() for o in self.report.stacks]}


class StateLocked(StackFailed):
    """Another run holds the stack's state lock."""

    def __init__(self, message: str, hint: str, *, stack: str, step: str, lock_id: str | None) -> None:
        super().__init__(message, hint, stack=stack, step=step)
        self.lock_id = lock_id


# --- outcomes ----------------------------------------------------------------------------------------

StackStatus = Literal["applied", "planned", "no changes", "declined", "not run", "waiting", "failed", "interrupted"]
# Terraform's words when a stack reads the outputs of a stack that has no state yet.
_NO_REMOTE_STATE = "Unable to find remote state"


@dataclass(frozen=True)
class StackOutcome:
    stack: str
    status: StackStatus
    summary: StackSummary | None = None
    # "waiting": the stacks (or the state bucket) that must be applied before this one can be planned.
    waits_for: tuple[str, ...] = ()
    level: int = 1

    def as_dict(self) -> dict[str, Any]:
        counts = self.summary.as_dict() if self.summary is not None else None
        return {"name": self.stack, "status": self.status, "waits_for": list(self.waits_for), "level": self.level,
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

    def brief(self) -> str:
        """`network applied, data failed, workloads not run`: one line for an error or an interruption."""
        return ", ".join(f"{s.stack} {s.status}" for s in self.stacks)


def bucket_missing(plan: DeployPlan, version: str, progress: Callable[[str], None]) -> RunReport:
    """`plan` without a state bucket: there is no state, so every stack would be created; say so."""
    progress("no stack can be planned before apply creates the state bucket; every resource would be created")
    return RunReport(plan.action, version, tuple(StackOutcome(s.name, "waiting", waits_for=("the state bucket",),
                                                              level=s.level) for s in plan.stacks))


# --- one stack ---------------------------------------------------------------------------------------


def prepare_stack(plan: DeployPlan, stack: StackPlan, run: Runner, say: Callable[[str], None]) -> StackOutcome:
    """``init``, ``plan -out`` and ``show -json`` of one stack.

    The outcome is final (``planned``, ``waiting``, ``no changes``) or ``not run`` with the summary
    of a saved plan that waits for the level's confirmation and :func:`apply_stack`. A final
    outcome's saved plan is deleted here; a failing step raises :class:`StackFailed`.
    """
    if not stack.working_dir.is_dir():
        raise StackFailed(f"stack {stack.name}: working directory {stack.working_dir} does not exist",
                          "Synthesize the environment again.", stack=stack.name, step="init")
    pending = False  # a saved plan kept for the apply
    try:
        summary: StackSummary | None = None
        for step in stack.steps:
            if step.name == "apply":
                break
            say(f"[{stack.name}] terraform {step.name}")
            result = run(step.argv, stack.working_dir, quiet=step.name == "show")
            if result.returncode != 0:
                if plan.action == "plan" and step.name == "plan" and _NO_REMOTE_STATE in result.stderr + result.stdout:
                    waits = stack.depends_on or ("the stacks it reads",)
                    say(f"[{stack.name}] waiting: it reads outputs of {', '.join(waits)}, which has no state yet")
                    return StackOutcome(stack.name, "waiting", waits_for=waits, level=stack.level)
                raise _failure(stack, step.name, result)
            if step.name == "show":
                summary = summarize(stack.name, result.stdout)
        assert summary is not None  # every action has a show step
        if plan.action == "plan":
            return StackOutcome(stack.name, "planned", summary, level=stack.level)
        if not summary.has_changes:
            return StackOutcome(stack.name, "no changes", summary, level=stack.level)
        pending = True
        return StackOutcome(stack.name, "not run", summary, level=stack.level)
    finally:
        if not pending:
            discard(stack)  # nothing will apply it: the saved plan holds values in clear text


def apply_stack(stack: StackPlan, run: Runner, say: Callable[[str], None], summary: StackSummary) -> StackOutcome:
    """``apply`` of the stack's confirmed saved plan, which is deleted afterwards whatever happens."""
    try:
        step = next(s for s in stack.steps if s.name == "apply")
        say(f"[{stack.name}] terraform apply")
        result = run(step.argv, stack.working_dir)
        if result.returncode != 0:
            raise _failure(stack, "apply", result)
        return StackOutcome(stack.name, "applied", summary, level=stack.level)
    finally:
        discard(stack)


def discard(stack: StackPlan) -> None:
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
