"""What a deploy will run, as a value: the stacks by level and the Terraform commands of each.

Computed before anything runs, so `--dry-run` prints exactly what would run and tests check it.
Stacks of one level do not depend on each other and run at the same time (engine.deploy.levels).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from engine.errors import EngineError
from engine.manifest import read_manifest, stack_levels
from engine.resolve import Resolved
from engine.stack_graph import describe_levels

Action = Literal["plan", "apply", "destroy"]
StepName = Literal["init", "plan", "show", "apply"]
ACTIONS: tuple[Action, ...] = ("plan", "apply", "destroy")


@dataclass(frozen=True)
class Step:
    """One Terraform invocation, run in its stack's working directory."""

    name: StepName
    argv: tuple[str, ...]


@dataclass(frozen=True)
class StackPlan:
    name: str
    working_dir: Path
    plan_file: str  # relative to working_dir
    steps: tuple[Step, ...]
    depends_on: tuple[str, ...] = ()  # the stacks whose outputs this one reads
    level: int = 1  # 1 runs first; stacks of one level run at the same time


@dataclass(frozen=True)
class DeployPlan:
    action: Action
    manifest: Path
    terraform_bin: str
    stacks: tuple[StackPlan, ...]

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stacks)

    @property
    def levels(self) -> tuple[tuple[StackPlan, ...], ...]:
        numbers = sorted({s.level for s in self.stacks})
        return tuple(tuple(s for s in self.stacks if s.level == number) for number in numbers)

    def describe_levels(self) -> str:
        return describe_levels(tuple(tuple(s.name for s in level) for level in self.levels))


def build_plan(action: Action, manifest_path: Path, terraform_bin: str) -> DeployPlan:
    """The stacks of ``manifest_path`` by level (then name), each with its Terraform steps.

    Per stack: ``init``, ``plan -out``, ``show -json`` (the summary) and, but for ``plan``,
    ``apply`` of exactly that saved plan, so what is applied is what was confirmed. ``destroy``
    runs in reverse: a stack goes only after every stack that depends on it.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    entries = read_manifest(manifest_path)
    levels = stack_levels({n: e.dependencies for n, e in entries.items()}, reverse=action == "destroy")
    root = manifest_path.parent
    return DeployPlan(
        action=action,
        manifest=manifest_path,
        terraform_bin=terraform_bin,
        stacks=tuple(_stack_plan(action, name, root / entries[name].working_directory, terraform_bin,
                                 depends_on=entries[name].dependencies, level=number)
                     for number, level in enumerate(levels, 1) for name in level),
    )


def _stack_plan(action: Action, name: str, working_dir: Path, terraform: str, *,
                depends_on: tuple[str, ...], level: int) -> StackPlan:
    plan_file = f"{name}.tfplan"
    plan_args = ("plan", "-input=false", "-no-color", f"-out={plan_file}")
    steps = [
        Step("init", (terraform, "init", "-input=false", "-no-color")),
        Step("plan", (terraform, *plan_args, *(("-destroy",) if action == "destroy" else ()))),
        Step("show", (terraform, "show", "-json", "-no-color", plan_file)),
    ]
    if action != "plan":
        steps.append(Step("apply", (terraform, "apply", "-input=false", "-no-color", plan_file)))
    return StackPlan(name, working_dir, plan_file, tuple(steps), depends_on, level)


# --- writers -------------------------------------------------------------------------------------


def plan_as_dict(plan: DeployPlan) -> dict[str, Any]:
    return {
        "action": plan.action,
        "manifest": str(plan.manifest),
        "terraform": plan.terraform_bin,
        "levels": [[stack.name for stack in level] for level in plan.levels],
        "stacks": [
            {
                "name": stack.name,
                "level": stack.level,
                "working_dir": str(stack.working_dir),
                "plan_file": stack.plan_file,
                "steps": [{"name": step.name, "argv": list(step.argv)} for step in stack.steps],
            }
            for stack in plan.stacks
        ],
    }


def render_text(plan: DeployPlan) -> str:
    """The plan for ``--dry-run``: the levels, then each stack's commands as they would run."""
    lines = [f"{plan.action}: {len(plan.stacks)} stack(s) in {len(plan.levels)} level(s): {plan.describe_levels()}"]
    for number, level in enumerate(plan.levels, 1):
        together = " (at the same time)" if len(level) > 1 else ""
        lines.append(f"level {number}: {', '.join(s.name for s in level)}{together}")
        for stack in level:
            lines.append(f"  {stack.name}  (in {stack.working_dir})")
            lines += [f"     {shlex.join(step.argv)}" for step in stack.steps]
    if plan.action != "plan":
        lines.append("Per level: every stack is planned, then one confirmation shows every summary (unless --yes "
                     "is given), then the level's stacks are applied at the same time.")
    return "\n".join(lines) + "\n"


# --- safety ----------------------------------------------------------------------------------------


def guard_destroy(resolved: Resolved, confirm: str | None) -> None:
    """Refuse to destroy a ``tier: production`` environment unless ``confirm`` is its name."""
    project = resolved.config.project
    if project.tier != "production" or confirm == project.environment:
        return
    got = "no --confirm was given" if confirm is None else f"--confirm {confirm!r} does not match"
    raise EngineError(
        f"refusing to destroy production environment {project.environment!r} ({resolved.prefix}): {got}",
        hint=f"If you really mean to delete it and its data, pass --confirm {project.environment}.",
    )
