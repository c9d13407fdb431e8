"""The deploy plan and the Terraform runner, run for real against a stand-in terraform.

``tests/deploy/stand_in/terraform`` is a small script, not Terraform: it logs every call
(argv, cwd), writes a fake plan file on ``plan -out``, answers ``version -json`` and
``show -json``, and fails, hangs or reports a held state lock when told to. The runner under
test starts it through the same subprocess path it would use for the real binary.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.deploy.levels import run_plan
from engine.deploy.plan import StackPlan, Step, build_plan, guard_destroy, plan_as_dict, render_text
from engine.deploy.stacks import StackFailed, StackSummary, StateLocked, summarize
from engine.deploy.terraform import SubprocessRunner, find_terraform, with_plugin_cache
from engine.errors import EngineError
from engine.manifest import stack_order
from tests.deploy.stand_in_terraform import STAND_IN, StandIn, ctrl_c_when
from tests.support import resolved_env

CHAIN = {"network": [], "data": ["network"], "cluster": ["data"]}


def write_manifest(root: Path, dependencies: dict[str, list[str]]) -> Path:
    """A manifest.json in CDK Terrain's format, with an (empty) stack directory per stack."""
    stacks = {}
    for name in sorted(dependencies):  # CDK Terrain writes keys sorted, so file order says nothing
        (root / "stacks" / name).mkdir(parents=True, exist_ok=True)
        (root / "stacks" / name / "cdk.tf.json").write_text("{}\n")
        stacks[name] = {
            "name": name, "constructPath": name, "workingDirectory": f"stacks/{name}",
            "synthesizedStackPath": f"stacks/{name}/cdk.tf.json", "stackMetadataPath": f"stacks/{name}/metadata.json",
            "annotations": [], "dependencies": dependencies[name],
        }
    path = root / "manifest.json"
    path.write_text(json.dumps({"stacks": stacks, "version": "0.24.0"}, indent=2))
    return path


def step(stack: StackPlan, name: str) -> Step | None:
    return next((s for s in stack.steps if s.name == name), None)


def run(stand_in: StandIn, manifest: Path, action: Any = "apply", *, answer: bool = True,
        confirmed: list[StackSummary] | None = None, runner: SubprocessRunner | None = None,
        questions: list[tuple[str, ...]] | None = None) -> Any:
    """Run ``manifest`` with the stand-in; every confirmation answers ``answer`` and is recorded:
    its summaries in ``confirmed``, the stacks it asked about (one question) in ``questions``."""
    seen = confirmed if confirmed is not None else []
    asked = questions if questions is not None else []

    def confirm(summaries: tuple[StackSummary, ...]) -> bool:
        seen.extend(summaries)
        asked.append(tuple(s.stack for s in summaries))
        return answer

    plan = build_plan(action, manifest, stand_in.binary)
    return run_plan(plan, runner=runner or SubprocessRunner(), confirm=confirm, progress=stand_in.progress.append)


# --- the plan value -----------------------------------------------------------------------------------


def test_stand_in_is_executable() -> None:
    assert os.access(STAND_IN, os.X_OK) and STAND_IN.read_text().startswith("#!/usr/bin/env python3\n")


def test_stacks_are_ordered_by_dependencies(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, {"cluster": ["data"], "data": ["network"], "network": []})

    plan = build_plan("apply", manifest, "terraform")

    assert plan.order == ("network", "data", "cluster")
    assert [s.working_dir for s in plan.stacks] == [tmp_path / "stacks" / n for n in plan.order]


def test_order_ties_are_broken_by_name_and_destroy_reverses() -> None:
    graph = {"workloads": ("cluster", "data"), "cluster": ("network",), "data": ("network",), "network": ()}
    assert stack_order(graph) == ("network", "cluster", "data", "workloads")
    assert stack_order(dict(reversed(graph.items()))) == ("network", "cluster", "data", "workloads")


def test_apply_steps_use_the_saved_plan(tmp_path: Path) -> None:
    plan = build_plan("apply", write_manifest(tmp_path, CHAIN), "/opt/tf")

    network = plan.stacks[0]
    assert [s.argv for s in network.steps] == [
        ("/opt/tf", "init", "-input=false", "-no-color"),
        ("/opt/tf", "plan", "-input=false", "-no-color", "-out=network.tfplan"),
        ("/opt/tf", "show", "-json", "-no-color", "network.tfplan"),
        ("/opt/tf", "apply", "-input=false", "-no-color", "network.tfplan"),
    ]


def test_destroy_plan_is_reversed_with_destroy_flag(tmp_path: Path) -> None:
    plan = build_plan("destroy", write_manifest(tmp_path, CHAIN), "terraform")

    assert plan.order == ("cluster", "data", "network")
    for stack in plan.stacks:
        plan_step = step(stack, "plan")
        assert plan_step is not None and "-destroy" in plan_step.argv
        apply_step = step(stack, "apply")
        assert apply_step is not None and apply_step.argv[-1] == f"{stack.name}.tfplan"


def test_plan_action_has_no_apply_step(tmp_path: Path) -> None:
    plan = build_plan("plan", write_manifest(tmp_path, CHAIN), "terraform")
    assert all(step(s, "apply") is None for s in plan.stacks)
    assert all("-destroy" not in step.argv for s in plan.stacks for step in s.steps)


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ({"network": ["cluster"], "cluster": ["network"]}, "cycle"),
        ({"network": [], "data": ["netwrk"]}, "unknown stack"),
    ],
)
def test_broken_dependency_graphs_are_errors(tmp_path: Path, graph: dict[str, list[str]], message: str) -> None:
    with pytest.raises(EngineError, match=message):
        build_plan("apply", write_manifest(tmp_path, graph), "terraform")


def test_missing_or_broken_manifest_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="no Terraform manifest") as caught:
        build_plan("apply", tmp_path / "manifest.json", "terraform")
    assert caught.value.hint is not None and "Synthesize" in caught.value.hint
    (tmp_path / "manifest.json").write_text('{"stacks": {"network": {"dependencies": []}}}')
    with pytest.raises(EngineError, match="workingDirectory"):
        build_plan("apply", tmp_path / "manifest.json", "terraform")
    (tmp_path / "manifest.json").write_text(
        '{"stacks": {"x": {"dependencies": [], "workingDirectory": "../x", "synthesizedStackPath": "x.json"}}}')
    with pytest.raises(EngineError, match="outside"):
        build_plan("apply", tmp_path / "manifest.json", "terraform")


def test_writers_render_every_command(tmp_path: Path) -> None:
    plan = build_plan("destroy", write_manifest(tmp_path, CHAIN), "terraform")

    text = render_text(plan)
    assert text.splitlines()[0] == ("destroy: 3 stack(s) in 3 level(s): level 1: cluster; level 2: data; "
                                    "level 3: network")
    assert "     terraform plan -input=false -no-color -out=cluster.tfplan -destroy" in text
    assert text.index("\nlevel 1: cluster\n") < text.index("\nlevel 2: data\n") < text.index("\nlevel 3: network\n")
    as_json = json.loads(json.dumps(plan_as_dict(plan)))
    assert [s["name"] for s in as_json["stacks"]] == ["cluster", "data", "network"]
    assert [s["level"] for s in as_json["stacks"]] == [1, 2, 3]
    assert as_json["levels"] == [["cluster"], ["data"], ["network"]]
    assert as_json["stacks"][0]["steps"][-1]["argv"] == ["terraform", "apply", "-input=false", "-no-color",
                                                         "cluster.tfplan"]


def test_production_destroy_needs_the_environment_name() -> None:
    prod = resolved_env("prod")
    dev = resolved_env("dev")

    for wrong in (None, "", "staging", "PROD", "acme-prod"):
        with pytest.raises(EngineError, match="refusing to destroy production") as caught:
            guard_destroy(prod, wrong)
        assert caught.value.hint is not None and "--confirm prod" in caught.value.hint
    guard_destroy(prod, "prod")
    guard_destroy(dev, None)


# --- summaries --------------------------------------------------------------------------------------


def test_summary_counts_like_terraform() -> None:
    show = {"resource_changes": [
        {"address": "a.new", "change": {"actions": ["create"]}},
        {"address": "a.changed", "change": {"actions": ["update"]}},
        {"address": "a.gone", "change": {"actions": ["delete"]}},
        {"address": "a.replaced", "change": {"actions": ["delete", "create"]}},
        {"address": "a.same", "change": {"actions": ["no-op"]}},
        {"address": "data.a.read", "change": {"actions": ["read"]}},
    ]}
    summary = summarize("data", json.dumps(show))

    assert (summary.add, summary.change, summary.destroy) == (2, 1, 2)
    assert summary.render().splitlines() == [
        "data: 2 to add, 1 to change, 2 to destroy (DESTROYS 1, REPLACES 1)", "    + a.new", "    ~ a.changed",
        "    - a.gone", "  -/+ a.replaced", "  WARNING: a.gone will be DESTROYED",
        "  WARNING: a.replaced will be DESTROYED and created again"]
    assert not summarize("data", json.dumps({"resource_changes": [show["resource_changes"][4]]})).has_changes
    assert summarize("data", json.dumps({"output_changes": {"x": {"actions": ["create"]}}})).has_changes


def test_summary_names_changed_attributes_and_what_forces_a_replacement() -> None:
    show = {"resource_changes": [
        {"address": "aws_kms_key.logs", "change": {
            "actions": ["update"], "before": {"policy": "a", "tags": {}, "id": "k"},
            "after": {"policy": "b", "tags": {}, "id": "k"}, "after_unknown": {}}},
        {"address": "aws_db_instance.main", "change": {
            "actions": ["delete", "create"], "before": {"engine_version": "15", "id": "db"},
            "after": {"engine_version": "16"}, "after_unknown": {"id": True}, "replace_paths": [["engine_version"]]}},
    ]}
    summary = summarize("data", json.dumps(show))

    assert summary.render().splitlines()[1:] == [
        "    ~ aws_kms_key.logs (policy)", "  -/+ aws_db_instance.main (engine_version, id)",
        "  WARNING: aws_db_instance.main will be DESTROYED and created again because of engine_version"]
    assert summary.as_dict()["resources"][0] == {"address": "aws_kms_key.logs", "action": "update",
                                                 "attributes": ["policy"]}
    assert (summary.as_dict()["add"], summary.as_dict()["change"], summary.as_dict()["destroy"]) == (1, 1, 1)


def test_plugin_cache_defaults_under_the_user_cache_unless_chosen(tmp_path: Path) -> None:
    env = with_plugin_cache({"XDG_CACHE_HOME": str(tmp_path)})
    assert env["TF_PLUGIN_CACHE_DIR"] == str(tmp_path / "supa-engine" / "terraform-plugins")
    assert Path(env["TF_PLUGIN_CACHE_DIR"]).is_dir()  # Terraform ignores a missing cache directory
    assert with_plugin_cache({"TF_PLUGIN_CACHE_DIR": "/mine"})["TF_PLUGIN_CACHE_DIR"] == "/mine"


# --- running with the stand-in ----------------------------------------------------------------------


def test_apply_runs_init_plan_show_apply_per_stack_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    manifest = write_manifest(tmp_path, CHAIN)
    output: list[str] = []

    report = run(stand_in, manifest, runner=SubprocessRunner(output=output.append))

    assert stand_in.commands() == [(stack, step) for stack in ("network", "data", "cluster")
                                   for step in ("init", "plan", "show", "apply")]
    assert stand_in.calls()[0]["argv"] == ["version", "-json"]
    for call in stand_in.calls():
        if call["argv"][0] != "version":
            assert call["cwd"] == str(tmp_path / "stacks" / call["stack"])
    written = {e["stack"]: e["token"] for e in stand_in.events("wrote plan")}
    applied = {e["stack"]: e["token"] for e in stand_in.events("applied plan")}
    assert applied == written and len(written) == 3  # apply got exactly the plan file plan wrote
    assert [e["argv"] for e in stand_in.events("applied plan")] == [
        ["apply", "-input=false", "-no-color", f"{stack}.tfplan"] for stack in ("network", "data", "cluster")]
    assert [(o.stack, o.status) for o in report.stacks] == [
        ("network", "applied"), ("data", "applied"), ("cluster", "applied")]
    assert report.terraform_version == "1.10.5"
    assert not any((tmp_path / "stacks" / s / f"{s}.tfplan").exists() for s in CHAIN)  # plans hold clear text
    assert "Apply complete! (stand-in)" in output
    assert "Terraform has been successfully initialized! (stand-in)" in output
    assert not any("resource_changes" in line or "terraform_version" in line for line in output)  # data, not output
    assert "network: 1 to add, 0 to change, 0 to destroy" in "\n".join(stand_in.progress)


def test_plan_action_applies_nothing_with_stand_in_terraform(tmp_path: Path, stand_in: StandIn) -> None:
    confirmed: list[StackSummary] = []
    report = run(stand_in, write_manifest(tmp_path, CHAIN), "plan", confirmed=confirmed)

    assert ("network", "apply") not in stand_in.commands() and not stand_in.events("applied plan")
    assert [o.status for o in report.stacks] == ["planned"] * 3 and confirmed == []
    assert not (tmp_path / "stacks" / "data" / "data.tfplan").exists()  # shown, then deleted: clear text


def test_destroy_runs_in_reverse_with_stand_in_terraform(tmp_path: Path, stand_in: StandIn) -> None:
    confirmed: list[StackSummary] = []
    report = run(stand_in, write_manifest(tmp_path, CHAIN), "destroy", confirmed=confirmed)

    assert [s for s, step in stand_in.commands() if step == "apply"] == ["cluster", "data", "network"]
    assert all("-destroy" in c["argv"] for c in stand_in.calls() if c["argv"][0] == "plan" and "event" not in c)
    assert all(e["destroy"] for e in stand_in.events("applied plan"))
    assert [(s.stack, s.destroy) for s in confirmed] == [("cluster", 1), ("data", 1), ("network", 1)]
    assert [o.status for o in report.stacks] == ["applied"] * 3


def test_confirmation_sees_the_summary_and_declining_applies_nothing_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    stand_in.set(changes=json.dumps({"network": [["create"], ["update"], ["delete", "create"], ["no-op"]]}))
    confirmed: list[StackSummary] = []

    report = run(stand_in, write_manifest(tmp_path, CHAIN), answer=False, confirmed=confirmed)

    assert [(s.stack, s.add, s.change, s.destroy) for s in confirmed] == [("network", 2, 1, 1)]
    assert not stand_in.events("applied plan")
    assert stand_in.commands() == [("network", "init"), ("network", "plan"), ("network", "show")]
    assert [(o.stack, o.status) for o in report.stacks] == [
        ("network", "declined"), ("data", "not run"), ("cluster", "not run")]
    assert report.declined
    assert not (tmp_path / "stacks" / "network" / "network.tfplan").exists()


def test_stack_without_changes_is_not_applied_nor_confirmed_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    stand_in.set(changes=json.dumps({"data": [["no-op"], ["read"]]}))
    confirmed: list[StackSummary] = []

    report = run(stand_in, write_manifest(tmp_path, CHAIN), confirmed=confirmed)

    assert [s.stack for s in confirmed] == ["network", "cluster"]
    assert ("data", "apply") not in stand_in.commands()
    assert [o.status for o in report.stacks] == ["applied", "no changes", "applied"]


@pytest.mark.parametrize("step", ["init", "plan", "show", "apply"])
def test_first_failure_stops_and_names_stack_and_step_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn, step: str
) -> None:
    stand_in.set(fail=f"data:{step}")

    with pytest.raises(StackFailed) as caught:
        run(stand_in, write_manifest(tmp_path, CHAIN))

    error = caught.value
    assert (error.stack, error.step) == ("data", step)
    assert error.message.startswith(f"stack data: terraform {step} failed (exit 1)")
    assert f"Error: stand-in failure in {step} of data" in error.message and "boom" in error.message
    assert "cluster" not in {stack for stack, _ in stand_in.commands()}
    assert [e["stack"] for e in stand_in.events("applied plan")] == ["network"]


def test_held_state_lock_is_a_clear_error_with_stand_in_terraform(tmp_path: Path, stand_in: StandIn) -> None:
    stand_in.set(locked="data")

    with pytest.raises(StateLocked) as caught:
        run(stand_in, write_manifest(tmp_path, CHAIN))

    error = caught.value
    assert error.stack == "data" and error.lock_id == "6d8e0b1c-2f4a-4c55-9b1e-1f2a3b4c5d6e"
    assert "stack data: the Terraform state is locked by alice@laptop" in error.message
    assert error.lock_id in error.message
    assert error.hint is not None and f"terraform force-unlock {error.lock_id}" in error.hint
    assert "Only if you are sure" in error.hint


# --- the binary ---------------------------------------------------------------------------------------


@pytest.fixture
def bin_dirs(tmp_path: Path) -> dict[str, Path]:
    dirs = {name: tmp_path / name for name in ("empty", "tofu-only", "both")}
    for directory in dirs.values():
        directory.mkdir()
    (dirs["tofu-only"] / "tofu").symlink_to(STAND_IN)
    (dirs["both"] / "tofu").symlink_to(STAND_IN)
    (dirs["both"] / "terraform").symlink_to(STAND_IN)
    return dirs


def test_binary_discovery_prefers_terraform_then_tofu(bin_dirs: dict[str, Path]) -> None:
    assert find_terraform(path=str(bin_dirs["both"])) == str(bin_dirs["both"] / "terraform")
    assert find_terraform(path=str(bin_dirs["tofu-only"])) == str(bin_dirs["tofu-only"] / "tofu")
    assert find_terraform(str(STAND_IN), path=str(bin_dirs["empty"])) == str(STAND_IN)


def test_missing_binary_is_a_clear_error(bin_dirs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="neither terraform nor tofu") as caught:
        find_terraform(path=str(bin_dirs["empty"]))
    assert caught.value.hint is not None and "Terraform >= 1.10" in caught.value.hint
    assert "OpenTofu >= 1.10" in caught.value.hint
    with pytest.raises(EngineError, match="not an executable"):
        find_terraform(str(tmp_path / "no-such-terraform"))
    (tmp_path / "not-executable").write_text("")
    with pytest.raises(EngineError, match="not an executable"):
        find_terraform(str(tmp_path / "not-executable"))


@pytest.mark.parametrize(("version", "ok"), [("1.9.8", False), ("0.15.5", False), ("1.10.0", True), ("1.11.4", True)])
def test_version_is_checked_before_any_stack_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn, version: str, ok: bool
) -> None:
    stand_in.set(version=version)
    manifest = write_manifest(tmp_path, CHAIN)

    if ok:
        assert run(stand_in, manifest, "plan").terraform_version == version
        return
    with pytest.raises(EngineError, match=f"version {version}; the engine needs 1.10 or newer") as caught:
        run(stand_in, manifest)
    assert caught.value.hint is not None and "OpenTofu" in caught.value.hint
    assert stand_in.commands() == []


def test_unreadable_version_is_a_clear_error(tmp_path: Path, stand_in: StandIn) -> None:
    fake = tmp_path / "terraform"
    fake.write_text("#!/bin/sh\necho 'Terraform v0.11.0'\n")
    fake.chmod(0o755)
    plan = build_plan("plan", write_manifest(tmp_path, CHAIN), str(fake))

    with pytest.raises(EngineError, match="cannot read the version"):
        run_plan(plan, confirm=lambda _: True, progress=lambda _: None)


# --- Ctrl-C -------------------------------------------------------------------------------------------


@pytest.fixture
def interrupt_when_started(stand_in: StandIn) -> Iterator[None]:
    """Deliver SIGINT to the main thread (like Ctrl-C) once the stand-in logs "started"."""
    with ctrl_c_when(lambda: bool(stand_in.events("started"))):
        yield


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.usefixtures("interrupt_when_started")
def test_ctrl_c_stops_terraform_gracefully_and_reraises_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    stand_in.set(hang="data:apply")
    started = time.monotonic()

    with pytest.raises(KeyboardInterrupt):
        run(stand_in, write_manifest(tmp_path, CHAIN), runner=SubprocessRunner(grace_seconds=10))

    assert time.monotonic() - started < 10  # it stopped on SIGINT, well before the grace ran out
    (started_event,) = stand_in.events("started")
    assert [e["pid"] for e in stand_in.events("interrupted")] == [started_event["pid"]]
    assert _gone(started_event["pid"])
    assert "cluster" not in {stack for stack, _ in stand_in.commands()}


@pytest.mark.usefixtures("interrupt_when_started")
def test_ctrl_c_kills_terraform_that_ignores_sigint_with_stand_in_terraform(
    tmp_path: Path, stand_in: StandIn
) -> None:
    stand_in.set(hang="network:plan:ignore-int")
    started = time.monotonic()

    with pytest.raises(KeyboardInterrupt):
        run(stand_in, write_manifest(tmp_path, CHAIN), runner=SubprocessRunner(grace_seconds=0.5))

    assert time.monotonic() - started < 10
    (started_event,) = stand_in.events("started")
    assert not stand_in.events("interrupted") and _gone(started_event["pid"])

