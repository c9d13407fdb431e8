"""Stacks of one level run at the same time, against the stand-in terraform (NOT Terraform).

The graph is the diamond network -> {cluster, data} -> workloads. Overlap is proven without
timings: with STAND_IN_TF_TOGETHER a step succeeds only when every listed stack reaches it
while the others are still in it, so a runner that ran them one after another fails.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.console import Output, elapsed, progress
from engine.deploy.levels import run_plan
from engine.deploy.plan import build_plan
from engine.deploy.run import level_question
from engine.deploy.stacks import ResourceChange, StackFailed, StackOutcome, StackSummary
from engine.deploy.terraform import Result, SubprocessRunner
from engine.errors import EngineError
from tests.deploy.stand_in_terraform import StandIn, ctrl_c_when
from tests.deploy.test_terraform import _gone, write_manifest

DIAMOND = {"network": [], "data": ["network"], "cluster": ["network"], "workloads": ["data", "cluster"]}
ORDER = ("network", "cluster", "data", "workloads")


class Run:
    """One run_plan over the diamond with the stand-in: its questions, hook calls and report."""

    def __init__(self, stand_in: StandIn, tmp_path: Path, *, answers: tuple[bool, ...] = (),
                 hook_fails: str | None = None) -> None:
        self.stand_in, self.tmp_path = stand_in, tmp_path
        self.answers = list(answers)
        self.questions: list[tuple[str, ...]] = []
        self.hooked: list[tuple[str, int]] = []  # (stack, index of the log line when the hook ran)
        self.hook_fails = hook_fails
        self.output: list[str] = []

    def confirm(self, summaries: tuple[StackSummary, ...]) -> bool:
        self.questions.append(tuple(s.stack for s in summaries))
        return self.answers.pop(0) if self.answers else True

    def after_stack(self, outcome: StackOutcome) -> None:
        self.hooked.append((outcome.stack, len(self.stand_in.calls())))
        if outcome.stack == self.hook_fails:
            raise EngineError(f"the hook after {outcome.stack} failed", "give the secret")

    def __call__(self, action: Any = "apply", runner: SubprocessRunner | None = None) -> Any:
        plan = build_plan(action, write_manifest(self.tmp_path, DIAMOND), self.stand_in.binary)
        return run_plan(plan, runner=runner or SubprocessRunner(output=self.output.append, prefix=True),
                        confirm=self.confirm, progress=self.stand_in.progress.append, after_stack=self.after_stack)


def first_line(stand_in: StandIn, stack: str, what: str) -> int:
    """Index in the log of the stack's first call (its init) or of an event."""
    calls = stand_in.calls()
    return next(i for i, c in enumerate(calls) if c["stack"] == stack and (
        c.get("event") == what if what != "init" else ("event" not in c and c["argv"][0] == "init")))


def test_independent_stacks_plan_and_apply_at_the_same_time_after_their_dependencies_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    stand_in.set(together="plan:cluster,data;apply:cluster,data")
    run = Run(stand_in, tmp_path)

    report = run()

    assert [(o.stack, o.status, o.level) for o in report.stacks] == [
        ("network", "applied", 1), ("cluster", "applied", 2), ("data", "applied", 2), ("workloads", "applied", 3)]
    assert {e["stack"] for e in stand_in.events("together")} == {"cluster", "data"}
    assert len(stand_in.events("together")) == 4 and not stand_in.events("alone")  # both plans, both applies
    for stack, dependencies in DIAMOND.items():  # nothing starts before what it reads is applied
        for dependency in dependencies:
            assert first_line(stand_in, dependency, "applied plan") < first_line(stand_in, stack, "init")
    ended = {e["stack"]: i for i, e in enumerate(stand_in.calls()) if e.get("event") == "end"}
    assert max(ended["cluster"], ended["data"]) < first_line(stand_in, "workloads", "init")
    assert run.questions == [("network",), ("cluster", "data"), ("workloads",)]  # one question per level
    assert "apply with " in stand_in.progress[0]
    assert "level 2: cluster, data (in parallel)" in stand_in.progress[0]
    assert not list(tmp_path.rglob("*.tfplan"))


def test_running_one_after_another_would_fail_the_overlap_check_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    # The proof can fail: network and workloads never run together, so asking for it fails.
    stand_in.set(together="apply:network,workloads", together_seconds="1")

    with pytest.raises(StackFailed) as caught:
        Run(stand_in, tmp_path)()

    assert caught.value.stack == "network" and "ran alone" in caught.value.message


def test_one_confirmation_per_level_only_for_stacks_with_changes_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    stand_in.set(changes=json.dumps({"data": [["no-op"]], "network": [["no-op"]]}))
    run = Run(stand_in, tmp_path)

    report = run()

    assert run.questions == [("cluster",), ("workloads",)]  # level 1 has no changes: nothing asked
    assert [o.status for o in report.stacks] == ["no changes", "applied", "no changes", "applied"]
    assert [s for s, step in stand_in.commands() if step == "apply"] == ["cluster", "workloads"]
    assert sorted(stack for stack, _ in run.hooked) == sorted(DIAMOND)  # with or without changes


def test_a_declined_level_stops_there_with_stand_in_terraform(tmp_path: Path, stand_in: StandIn) -> None:
    run = Run(stand_in, tmp_path, answers=(True, False))

    report = run()

    assert run.questions == [("network",), ("cluster", "data")]
    assert [(o.stack, o.status) for o in report.stacks] == [
        ("network", "applied"), ("cluster", "declined"), ("data", "declined"), ("workloads", "not run")]
    assert report.declined
    assert [s for s, step in stand_in.commands() if step == "apply"] == ["network"]
    assert "workloads" not in {s for s, _ in stand_in.commands()}
    assert not list(tmp_path.rglob("*.tfplan"))
    assert "[data] not applied: declined" in stand_in.progress


def test_first_failure_stops_later_levels_while_the_running_sibling_finishes_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    # Both applies are in flight when data's fails; cluster's goes on for another half second.
    stand_in.set(together="apply:cluster,data", fail="data:apply", slow="cluster:apply:0.5")

    with pytest.raises(StackFailed) as caught:
        Run(stand_in, tmp_path)()

    error = caught.value
    assert (error.stack, error.step) == ("data", "apply")
    assert error.message.startswith("stack data: terraform apply failed (exit 1)")
    assert error.message.endswith("stacks: network applied, cluster applied, data failed, workloads not run")
    assert error.report is not None
    stacks = json.loads(json.dumps(error.details()))["stacks"]  # what `--format json` adds to the error
    assert {s["name"]: (s["status"], s["level"]) for s in stacks} == {
        "network": ("applied", 1), "cluster": ("applied", 2), "data": ("failed", 2), "workloads": ("not run", 3)}
    assert [e["stack"] for e in stand_in.events("applied plan")] == ["network", "cluster"]  # finished cleanly
    assert "workloads" not in {s for s, _ in stand_in.commands()}
    assert not list(tmp_path.rglob("*.tfplan"))


def test_failed_plan_in_a_level_applies_none_of_it_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    stand_in.set(fail="cluster:plan")
    run = Run(stand_in, tmp_path)

    with pytest.raises(StackFailed) as caught:
        run()

    assert (caught.value.stack, caught.value.step) == ("cluster", "plan")
    assert run.questions == [("network",)]  # no question for a level that cannot be applied whole
    assert [e["stack"] for e in stand_in.events("applied plan")] == ["network"]
    assert caught.value.message.endswith("stacks: network applied, cluster failed, data not run, workloads not run")
    assert not list(tmp_path.rglob("*.tfplan"))


def test_hook_runs_after_its_stack_before_later_levels_and_its_failure_stops_them_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    run = Run(stand_in, tmp_path, hook_fails="data")

    with pytest.raises(StackFailed) as caught:
        run()

    assert caught.value.stack == "data" and "the hook after data failed" in caught.value.message
    assert caught.value.hint == "give the secret"
    hooked = dict(run.hooked)
    assert hooked["data"] > first_line(stand_in, "data", "applied plan")
    assert "workloads" not in {s for s, _ in stand_in.commands()}
    assert caught.value.message.endswith("stacks: network applied, cluster applied, data applied, workloads not run")


def test_plan_runs_levels_and_reports_waiting_stacks_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    stand_in.set(no_state="cluster,data,workloads", together="plan:cluster,data")
    run = Run(stand_in, tmp_path)

    report = run("plan")

    assert [(o.stack, o.status, o.waits_for) for o in report.stacks] == [
        ("network", "planned", ()), ("cluster", "waiting", ("network",)), ("data", "waiting", ("network",)),
        ("workloads", "waiting", ("data", "cluster"))]  # as the manifest lists them
    assert run.questions == [] and report.has_changes
    assert report.stacks[3].as_dict()["level"] == 3


def test_destroy_goes_in_reverse_levels_with_stand_in_terraform(tmp_path: Path, stand_in: StandIn) -> None:
    stand_in.set(together="apply:cluster,data")
    run = Run(stand_in, tmp_path)

    report = run("destroy")

    assert [(o.stack, o.level) for o in report.stacks] == [("workloads", 1), ("cluster", 2), ("data", 2),
                                                           ("network", 3)]
    assert run.questions == [("workloads",), ("cluster", "data"), ("network",)]
    assert first_line(stand_in, "cluster", "applied plan") < first_line(stand_in, "network", "init")
    assert first_line(stand_in, "data", "applied plan") < first_line(stand_in, "network", "init")


def test_output_of_parallel_stacks_is_prefixed_and_never_mixed_within_a_line_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    stand_in.set(lines="400", together="plan:cluster,data")
    run = Run(stand_in, tmp_path)

    run("plan")

    line = re.compile(r"^\[(?P<prefix>[a-z]+)\] line (?P<number>\d+) of (?P<stack>[a-z]+) x{200}$")
    numbered = [m for m in map(line.match, run.output) if m]
    assert len(numbered) == 400 * 4
    assert all(m["prefix"] == m["stack"] for m in numbered)
    for stack in DIAMOND:
        assert [int(m["number"]) for m in numbered if m["stack"] == stack] == list(range(400))
    assert all(line.match(text) or text.startswith("[") for text in run.output)


@pytest.fixture
def interrupt_when_both_started(stand_in: StandIn) -> Iterator[None]:
    """cluster's and data's applies hang; SIGINT to the main thread (Ctrl-C) once both have started."""
    stand_in.set(hang="cluster:apply;data:apply")
    with ctrl_c_when(lambda: len(stand_in.events("started")) == 2):
        yield


@pytest.mark.usefixtures("interrupt_when_both_started")
def test_ctrl_c_stops_every_running_terraform_gracefully_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    run = Run(stand_in, tmp_path)
    started = time.monotonic()

    with pytest.raises(KeyboardInterrupt):
        run(runner=SubprocessRunner(grace_seconds=10))

    assert time.monotonic() - started < 10  # both stopped on SIGINT, well before the grace ran out
    begun = {e["stack"]: e["pid"] for e in stand_in.events("started")}
    assert set(begun) == {"cluster", "data"}
    assert sorted(e["stack"] for e in stand_in.events("interrupted")) == ["cluster", "data"]
    assert all(_gone(pid) for pid in begun.values())
    assert "interrupted: network applied, cluster interrupted, data interrupted, workloads not run" in \
        stand_in.progress
    assert not list(tmp_path.rglob("*.tfplan"))


def test_one_question_names_every_stack_of_the_level_with_its_counts() -> None:
    data = StackSummary("data", (ResourceChange("aws_db_instance.main", "replace"),))
    cluster = StackSummary("cluster", (ResourceChange("aws_eks_cluster.main", "create"),))
    assert level_question("apply", (data,)) == (
        "apply stack data: 1 to add, 0 to change, 1 to destroy (DESTROYS 0, REPLACES 1) - go ahead?")
    assert level_question("destroy", (cluster, data)).splitlines() == [
        "destroy stacks cluster, data at the same time:", "  cluster: 1 to add, 0 to change, 0 to destroy",
        "  data: 1 to add, 0 to change, 1 to destroy (DESTROYS 0, REPLACES 1)", "go ahead?"]


def test_progress_from_many_threads_prints_whole_lines(capsys: pytest.CaptureFixture[str]) -> None:
    # The CLI's progress is called from every stack's thread, where click has no context.
    def report(stack: str) -> None:
        for number in range(300):
            progress(f"[{stack}] line {number} " + stack * 40)

    threads = [threading.Thread(target=report, args=(name,)) for name in ("network", "cluster", "data", "workloads")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1200
    whole = re.compile(r"^\[(?P<stack>[a-z]+)\] line \d+ (?P=stack){40}$")
    assert all(whole.match(line) for line in lines)


def test_elapsed_time_works_in_a_thread_without_a_click_context() -> None:
    Output()  # what `main` makes for each command
    seen: list[str] = []
    thread = threading.Thread(target=lambda: seen.append(elapsed()))
    thread.start()
    thread.join()
    assert len(seen) == 1 and re.fullmatch(r"\[ *\d+\.\ds\] ", seen[0])


def test_an_unreadable_summary_is_a_failure_of_its_stack_with_stand_in_terraform_and_show_double(
    tmp_path: Path, stand_in: StandIn
) -> None:
    real = SubprocessRunner()

    def garbled_show_double(argv: Sequence[str], cwd: Path, *, quiet: bool = False) -> Result:
        """The stand-in, except that data's `show -json` prints no JSON."""
        if cwd.name == "data" and argv[1] == "show":
            return Result(0, "not json", "")
        return real(argv, cwd, quiet=quiet)

    plan = build_plan("apply", write_manifest(tmp_path, DIAMOND), stand_in.binary)
    with pytest.raises(StackFailed) as caught:
        run_plan(plan, runner=garbled_show_double, confirm=lambda _: True, progress=stand_in.progress.append)

    assert caught.value.stack == "data" and "cannot read the plan summary" in caught.value.message
    assert caught.value.message.endswith("stacks: network applied, cluster not run, data failed, workloads not run")
    assert not list(tmp_path.rglob("*.tfplan"))
