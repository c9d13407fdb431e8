"""What a deploy will run, as a value: the stacks in order and the Terraform commands of each.

Computed before anything runs, so `--dry-run` prints exactly what would run and tests check it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from engine.errors import EngineError
from engine.manifest import ordered, read_manifest
from engine.resolve import Resolved

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


@dataclass(frozen=True)
class DeployPlan:
    action: Action
    manifest: Path
    terraform_bin: str
    stacks: tuple[StackPlan, ...]

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stacks)


def build_plan(action: Action, manifest_path: Path, terraform_bin: str) -> DeployPlan:
    """The stacks of ``manifest_path`` in run order, each with its Terraform steps.

    Per stack: ``init``, ``plan -out``, ``show -json`` (the summary) and, but for ``plan``,
    ``apply`` of exactly that saved plan, so what is applied is what was confirmed. ``destroy``
    runs in reverse: a stack goes only after every stack that depends on it.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    stacks = ordered(read_manifest(manifest_path))
    if action == "destroy":
        stacks.reverse()
    root = manifest_path.parent
    return DeployPlan(
        action=action,
        manifest=manifest_path,
        terraform_bin=terraform_bin,
        stacks=tuple(_stack_plan(action, s.name, root / s.working_directory, terraform_bin, s.dependencies)
                     for s in stacks),
    )


def _stack_plan(action: Action, name: str, working_dir: Path, terraform: str,
                depends_on: tuple[str, ...]) -> StackPlan:
    plan_file = f"{name}.tfplan"
    plan_args = ("plan", "-input=false", "-no-color", f"-out={plan_file}")
    steps = [
        Step("init", (terraform, "init", "-input=false", "-no-color")),
        Step("plan", (terraform, *plan_args, *(("-destroy",) if action == "destroy" else ()))),
        Step("show", (terraform, "show", "-json", "-no-color", plan_file)),
    ]
    if action != "plan":
        steps.append(Step("apply", (terraform, "apply", "-input=false", "-no-color", plan_file)))
    return StackPlan(name, working_dir, plan_file, tuple(steps), depends_on)


# --- writers -------------------------------------------------------------------------------------


def plan_as_dict(plan: DeployPlan) -> dict[str, Any]:
    return {
        "action": plan.action,
        "manifest": str(plan.manifest),
        "terraform": plan.terraform_bin,
        "stacks": [
            {
                "name": stack.name,
                "working_dir": str(stack.working_dir),
                "plan_file": stack.plan_file,
                "steps": [{"name": step.name, "argv": list(step.argv)} for step in stack.steps],
            }
            for stack in plan.stacks
        ],
    }


def render_text(plan: DeployPlan) -> str:
    """The plan for ``--dry-run``: stacks in order, each command as it would run."""
    lines = [f"{plan.action}: {len(plan.stacks)} stack(s) in this order: {' -> '.join(plan.order)}"]
    for number, stack in enumerate(plan.stacks, 1):
        lines.append(f"{number}. {stack.name}  (in {stack.working_dir})")
        lines += [f"     {shlex.join(step.argv)}" for step in stack.steps]
    if plan.action != "plan":
        lines.append("Each stack's apply asks for confirmation after its plan summary unless --yes is given.")
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
