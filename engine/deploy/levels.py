"""Run a deploy plan level by level: a level's stacks at the same time, one confirmation per level.

Stacks of one level do not read each other's outputs, so they are planned together, confirmed
with one question that shows every summary, and applied together. The first failure stops every
later level; the failed stack's siblings that are already running finish, because killing a
Terraform apply would leave its state locked and its resources half made.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.deploy.plan import DeployPlan, StackPlan
from engine.deploy.stacks import (
    RunReport,
    StackFailed,
    StackOutcome,
    StackSummary,
    apply_stack,
    discard,
    prepare_stack,
)
from engine.deploy.terraform import Runner, SubprocessRunner, check_version, interrupt_running
from engine.errors import EngineError

Confirm = Callable[[tuple[StackSummary, ...]], bool]
AfterStack = Callable[[StackOutcome], None]


@dataclass(frozen=True)
class _Done:
    """What one worker thread brings back: the stack's outcome, and the error that stops the run."""

    outcome: StackOutcome
    error: StackFailed | None = None


def run_plan(
    plan: DeployPlan,
    *,
    runner: Runner | None = None,
    confirm: Confirm,
    progress: Callable[[str], None],
    after_stack: AfterStack = lambda _: None,
    version: str | None = None,
) -> RunReport:
    """Execute ``plan`` level by level; each stack's steps are ``init``, ``plan -out``, ``show -json``, ``apply``.

    Per level: every stack is planned at the same time; then ``confirm`` is asked once with the
    summaries of the stacks that have changes (never when none has); False stops the run there
    (the report says ``declined``). For ``--yes`` the CLI passes ``lambda _: True``. Then those
    stacks are applied at the same time. ``after_stack`` runs in the stack's thread as soon as a
    stack is done (applied, without changes, or planned), before any later level starts (the
    secrets bootstrap hooks in there); it may run while siblings still apply, so it must be
    thread-safe, and an error it raises stops the run like a failed step. ``progress`` is called
    from several threads, one call at a time. Raises :class:`StackFailed` (or a
    :class:`StateLocked`) naming the failed stack, with the report of every stack attached; on
    Ctrl-C, stops running Terraform gracefully and re-raises. For ``plan``, a stack that reads
    the outputs of a stack without state yet is ``waiting``. ``version`` is the checked version.
    """
    say = serialized(progress)
    run = runner if runner is not None else SubprocessRunner(output=say, prefix=True)
    checked = version if version is not None else check_version(plan.terraform_bin, run, plan.manifest.parent)
    say(f"{plan.action} with {plan.terraform_bin} {checked}: {plan.describe_levels()}")
    outcomes: dict[str, StackOutcome] = {}
    context = _Context(plan, run, confirm, say, after_stack, outcomes)

    def report() -> RunReport:
        return RunReport(plan.action, checked, tuple(
            outcomes.get(s.name) or StackOutcome(s.name, "not run", level=s.level) for s in plan.stacks))

    try:
        for level in plan.levels:
            errors = _run_level(level, context)
            if errors:
                raise _stopped(errors, report())
            if any(outcomes[s.name].status == "declined" for s in level):
                break
    except KeyboardInterrupt:
        say(f"interrupted: {report().brief()}")
        raise
    return report()


def serialized(progress: Callable[[str], None]) -> Callable[[str], None]:
    """``progress`` for several threads: one message at a time, so lines are never mixed."""
    lock = threading.Lock()

    def say(message: str) -> None:
        with lock:
            progress(message)

    return say


@dataclass(frozen=True)
class _Context:
    plan: DeployPlan
    run: Runner
    confirm: Confirm
    say: Callable[[str], None]
    after_stack: AfterStack
    outcomes: dict[str, StackOutcome]  # written by the main thread only


def _run_level(level: Sequence[StackPlan], context: _Context) -> list[StackFailed]:
    """Plan, confirm and apply one level; the errors that stop the run (none: go on)."""
    plan, run, say, after_stack, outcomes = (context.plan, context.run, context.say, context.after_stack,
                                             context.outcomes)
    try:
        errors = _together(level, lambda s: _work(s, lambda: prepare_stack(plan, s, run, say), after_stack), outcomes)
        if errors:
            return errors
        for stack in level:
            summary = outcomes[stack.name].summary
            if summary is not None:
                say(summary.render())
        pending = [s for s in level if outcomes[s.name].status == "not run"]
        if not pending:
            return []
        summaries = tuple(outcomes[s.name].summary for s in pending)
        if not context.confirm(tuple(s for s in summaries if s is not None)):
            for stack in pending:
                outcomes[stack.name] = StackOutcome(stack.name, "declined", outcomes[stack.name].summary,
                                                    level=stack.level)
                say(f"[{stack.name}] not applied: declined")
            return []
        confirmed = {s.name: outcomes[s.name].summary for s in pending}

        def apply(stack: StackPlan) -> _Done:
            summary = confirmed[stack.name]
            assert summary is not None  # a pending stack has been shown
            return _work(stack, lambda: apply_stack(stack, run, say, summary), after_stack)

        return _together(pending, apply, outcomes)
    finally:
        for stack in level:
            discard(stack)  # applied, declined, failed or interrupted: the saved plan holds clear text


def _work(stack: StackPlan, step: Callable[[], StackOutcome], after_stack: AfterStack) -> _Done:
    """Run one stack's ``step`` in a worker thread, then the hook once the stack is done."""
    try:
        outcome = step()
    except StackFailed as exc:
        return _Done(StackOutcome(stack.name, "failed", level=stack.level), exc)
    except EngineError as exc:  # an unreadable plan summary, a binary that cannot be started
        failed = StackFailed(exc.message, exc.hint, stack=stack.name, step="terraform")
        return _Done(StackOutcome(stack.name, "failed", level=stack.level), failed)
    if outcome.status == "not run":  # planned, waiting for the level's confirmation
        return _Done(outcome)
    try:
        after_stack(outcome)
    except EngineError as exc:
        return _Done(outcome, StackFailed(exc.message, exc.hint, stack=stack.name, step=f"after {stack.name}"))
    return _Done(outcome)


def _together(stacks: Sequence[StackPlan], work: Callable[[StackPlan], _Done],
              outcomes: dict[str, StackOutcome]) -> list[StackFailed]:
    """``work`` for every stack, each in its own thread; record the outcomes, return the errors.

    Ctrl-C lands in this (the main) thread: the running Terraform processes get SIGINT as a
    single one would, the threads end with them, and KeyboardInterrupt goes on up.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(stacks), thread_name_prefix="stack") as pool:
        futures = {pool.submit(work, stack): stack for stack in stacks}
        try:
            concurrent.futures.wait(futures)
        except KeyboardInterrupt:
            _wind_down(futures, outcomes)
            raise
    errors: list[StackFailed] = []
    for future, stack in futures.items():
        done = future.result()  # a bug in a worker surfaces here, after its siblings finished
        outcomes[stack.name] = done.outcome
        if done.error is not None:
            errors.append(done.error)
    return errors


def _wind_down(futures: dict[concurrent.futures.Future[_Done], StackPlan],
               outcomes: dict[str, StackOutcome]) -> None:
    while True:
        try:
            interrupt_running()  # a second Ctrl-C in there kills them at once
            concurrent.futures.wait(futures)
            break
        except KeyboardInterrupt:
            continue
    for future, stack in futures.items():
        done = future.result() if future.exception() is None else None
        ok = done is not None and done.error is None
        outcomes[stack.name] = done.outcome if ok and done is not None else StackOutcome(
            stack.name, "interrupted", level=stack.level)


def _stopped(errors: list[StackFailed], report: RunReport) -> StackFailed:
    """The first error, naming any other failure of the level and what became of every stack."""
    first = errors[0]
    first.message += "".join(f"\n{other.message}" for other in errors[1:])
    first.message += f"\nstacks: {report.brief()}"
    first.report = report
    return first
