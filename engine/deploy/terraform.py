"""Run a :class:`~engine.deploy.plan.DeployPlan` with the terraform (or tofu) binary.

Stack by stack, in the plan's order: ``init``, ``plan -out``, ``show -json`` of the saved plan
to summarise adds/changes/destroys, the caller's confirmation, then ``apply`` of exactly that
saved plan. The first failing step stops the run with an error naming the stack, the step and
the last lines Terraform printed to stderr; later stacks are not touched, because they read
outputs of the earlier ones.

Subprocesses run in their own process group. Ctrl-C reaches only the engine, which forwards
SIGINT to Terraform so it can stop gracefully and release its state lock, waits a grace
period, kills the group if needed, and re-raises ``KeyboardInterrupt`` (the CLI exits 130).

The runner is injectable (``Runner``), but the default :class:`SubprocessRunner` is what the
tests exercise, with a stand-in executable in place of Terraform.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from engine.deploy.plan import DeployPlan, StackPlan, StepName
from engine.errors import EngineError

MIN_VERSION = (1, 10, 0)  # S3 native state locking (use_lockfile)
INSTALL_HINT = (
    "Install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install) or OpenTofu >= 1.10 "
    "(https://opentofu.org/docs/intro/install/), or pass --terraform-bin PATH."
)
STDERR_LINES = 15  # lines of Terraform's stderr quoted in an error
# Terraform's switches for non-interactive use: no prompts, no "run terraform apply next" advice.
AUTOMATION_ENV = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
_LOCK_ID = re.compile(r"^\s*ID:\s*(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


class Runner(Protocol):
    """Runs one command in ``cwd`` to completion; must not raise on a non-zero exit.

    ``quiet`` commands (``version -json``, ``show -json``) produce data for the engine, not
    output for the user.
    """

    def __call__(self, argv: Sequence[str], cwd: Path, *, quiet: bool = False) -> Result: ...


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


# --- the binary ----------------------------------------------------------------------------------


def find_terraform(explicit: str | None = None, *, path: str | None = None) -> str:
    """The binary to run: ``explicit`` (``--terraform-bin``), else ``terraform``, else ``tofu`` on PATH.

    ``path`` replaces ``$PATH`` for the search (tests).
    """
    if explicit:
        found = shutil.which(explicit, path=path) if os.sep not in explicit else explicit
        if found is None or not os.access(found, os.X_OK) or not Path(found).is_file():
            raise EngineError(f"--terraform-bin {explicit} is not an executable file", hint=INSTALL_HINT)
        return found
    for name in ("terraform", "tofu"):
        found = shutil.which(name, path=path)
        if found is not None:
            return found
    raise EngineError("neither terraform nor tofu was found on PATH", hint=INSTALL_HINT)


def check_version(terraform_bin: str, runner: Runner, cwd: Path) -> str:
    """The binary's version from ``version -json``; an EngineError if it is older than 1.10."""
    result = runner([terraform_bin, "version", "-json"], cwd, quiet=True)
    try:
        version = str(json.loads(result.stdout)["terraform_version"])  # OpenTofu uses the same key
    except (ValueError, KeyError, TypeError):
        raise EngineError(
            f"cannot read the version of {terraform_bin} (`version -json` exited {result.returncode}): "
            f"{_tail(result.stderr or result.stdout, 3)}",
            hint=INSTALL_HINT,
        ) from None
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None or tuple(int(part) for part in match.groups()) < MIN_VERSION:
        raise EngineError(
            f"{terraform_bin} is version {version}; the engine needs 1.10 or newer (S3 state locking "
            "with use_lockfile)",
            hint=INSTALL_HINT,
        )
    return version


# --- running a command -----------------------------------------------------------------------------


@dataclass
class SubprocessRunner:
    """Run a command as a child in its own process group; capture stdout and stderr.

    ``output`` receives stdout line by line as it arrives (the CLI echoes it, so a 15 minute
    EKS apply is not silent). ``grace_seconds`` is how long an interrupted Terraform gets to
    stop cleanly (it releases the state lock) before it is killed.
    """

    output: Callable[[str], None] | None = None
    env: Mapping[str, str] | None = None
    grace_seconds: float = 30.0

    def __call__(self, argv: Sequence[str], cwd: Path, *, quiet: bool = False) -> Result:
        env = {**(os.environ if self.env is None else self.env), **AUTOMATION_ENV}
        try:
            child = subprocess.Popen(
                list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True,
            )
        except OSError as exc:
            raise EngineError(f"cannot run {argv[0]} in {cwd}: {exc}", hint=INSTALL_HINT) from None
        stderr: list[str] = []
        assert child.stdout is not None and child.stderr is not None  # both are pipes
        drain = threading.Thread(target=lambda: stderr.extend(child.stderr or ()), daemon=True)
        drain.start()
        stdout: list[str] = []
        try:
            for line in child.stdout:
                stdout.append(line)
                if self.output is not None and not quiet:
                    self.output(line.rstrip("\n"))
            child.wait()
        except BaseException:  # KeyboardInterrupt above all: never leave Terraform running
            self._stop(child)
            drain.join(timeout=1)
            _close(child)
            raise
        drain.join()
        _close(child)
        return Result(child.returncode, "".join(stdout), "".join(stderr))

    def _stop(self, child: subprocess.Popen[str]) -> None:
        """SIGINT to the child's group (Terraform's graceful stop), then SIGKILL after the grace.

        stdout keeps being drained meanwhile, so Terraform's shutdown messages cannot block on a
        full pipe.
        """
        drain = threading.Thread(target=lambda: collections.deque(child.stdout or (), maxlen=0), daemon=True)
        drain.start()
        try:
            os.killpg(child.pid, signal.SIGINT)
            child.wait(timeout=self.grace_seconds)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):  # a second Ctrl-C means now
            _kill_group(child)
        except ProcessLookupError:
            pass
        _kill_group(child)  # leftovers of the group (provider plugins) after Terraform exited
        child.wait()
        drain.join(timeout=1)


def _close(child: subprocess.Popen[str]) -> None:
    for pipe in (child.stdout, child.stderr):
        if pipe is not None:
            pipe.close()


def _kill_group(child: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)


# --- plan summaries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceChange:
    address: str
    action: Literal["create", "update", "delete", "replace", "forget"]


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

    def render(self) -> str:
        """Terraform's own "Plan: N to add, ..." line and one line per resource."""
        head = f"{self.stack}: {self.add} to add, {self.change} to change, {self.destroy} to destroy"
        if self.count("forget"):
            head += f", {self.count('forget')} to forget"
        if not self.has_changes:
            return f"{self.stack}: no changes"
        marks = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "forget": "."}
        return "\n".join([head, *(f"  {marks[c.action]:>3} {c.address}" for c in self.changes)])


def summarize(stack: str, show_json: str) -> StackSummary:
    """Parse ``terraform show -json <plan>`` into a :class:`StackSummary`."""
    try:
        data = json.loads(show_json)
    except json.JSONDecodeError as exc:
        raise EngineError(f"stack {stack}: cannot read the plan summary from `terraform show -json`: {exc}") from None
    changes = []
    for item in data.get("resource_changes") or []:
        actions = tuple(item.get("change", {}).get("actions", ()))
        action = _ACTIONS.get(actions)
        if action is not None:
            changes.append(ResourceChange(str(item.get("address", "?")), action))
    output_changes = (data.get("output_changes") or {}).values()
    outputs = any(tuple(o.get("actions", ())) not in (("no-op",), ()) for o in output_changes)
    return StackSummary(stack, tuple(changes), outputs)


_ACTIONS: dict[tuple[str, ...], Literal["create", "update", "delete", "replace", "forget"]] = {
    ("create",): "create",
    ("update",): "update",
    ("delete",): "delete",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
    ("forget",): "forget",
}  # ("no-op",) and ("read",) change nothing


# --- the run -----------------------------------------------------------------------------------------

StackStatus = Literal["applied", "planned", "no changes", "declined", "not run"]


@dataclass(frozen=True)
class StackOutcome:
    stack: str
    status: StackStatus
    summary: StackSummary | None = None


@dataclass(frozen=True)
class RunReport:
    action: str
    terraform_version: str
    stacks: tuple[StackOutcome, ...]

    @property
    def declined(self) -> bool:
        return any(s.status == "declined" for s in self.stacks)


def run_plan(
    plan: DeployPlan,
    *,
    runner: Runner | None = None,
    confirm: Callable[[StackSummary], bool],
    progress: Callable[[str], None],
    after_stack: Callable[[StackOutcome], None] = lambda _: None,
) -> RunReport:
    """Execute ``plan``; see the module docstring.

    ``confirm`` is asked once per stack whose plan has changes, after ``progress`` has been
    given the summary; returning False stops the run there (nothing more is applied, and the
    report says ``declined``). For ``--yes`` the CLI passes ``lambda _: True``. ``after_stack``
    runs after each stack that was not declined (the secrets bootstrap hooks in there).
    Raises :class:`StackFailed` (or :class:`StateLocked`) at the first failing step.
    """
    run = runner if runner is not None else SubprocessRunner()
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
    summary: StackSummary | None = None
    for step in stack.steps:
        if step.name == "apply":
            assert summary is not None  # the show step always precedes apply
            if not summary.has_changes:
                progress(f"[{stack.name}] nothing to apply")
                _discard(stack)
                return StackOutcome(stack.name, "no changes", summary)
            if not confirm(summary):
                progress(f"[{stack.name}] not applied: declined")
                _discard(stack)
                return StackOutcome(stack.name, "declined", summary)
        progress(f"[{stack.name}] terraform {step.name}")
        result = run(step.argv, stack.working_dir, quiet=step.name == "show")
        if result.returncode != 0:
            raise _failure(stack, step.name, result)
        if step.name == "show":
            summary = summarize(stack.name, result.stdout)
            progress(summary.render())
    if plan.action == "plan":
        return StackOutcome(stack.name, "planned", summary)
    _discard(stack)
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
        f"stack {stack.name}: terraform {step} failed (exit {result.returncode}):\n{_tail(text, STDERR_LINES)}",
        "Fix the problem and run again; stacks that are already up to date show no changes.",
        stack=stack.name, step=step,
    )


def _lock_field(text: str, name: str) -> str | None:
    match = re.search(rf"^\s*{name}:\s*(.+?)\s*$", text, re.MULTILINE)
    return match.group(1) if match else None


def _tail(text: str, lines: int) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join(f"  {line}" for line in kept) or "  (no output)"
