"""Day two against moto: a PostgreSQL major upgrade, then restore drills from its snapshot and to a point in time.

Everything runs as `supa-engine apply` would (engine.deploy.run.deploy, with engine.deploy.rds's
gate before the data stack), with real Terraform and tests/deploy/emulator.py only aiming it at
moto. Only the network and data stacks run: the database needs nothing else.

What moto's RDS does not do, and so is not proven here: no data is copied (a snapshot or point in
time restore copies the source's attributes, such as its engine version and master user), the
instance has no real PostgreSQL to upgrade, and the restore time is not checked against backups.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from engine.deploy.rds import snapshot_name
from engine.errors import EngineError
from tests.deploy.emulator import Moto, terraform_env
from tests.deploy.emulator_deployment import Deployment, changes, emulated_environment, moto, statuses
from tests.support import ROOT

__all__ = ["moto", "terraform_env"]
REGION = "eu-west-1"
STACKS = frozenset({"network", "data"})
SOURCE = "acme-prod"


def _config(path: Path, extends: str, body: str) -> Path:
    path.write_text(f"extends: {ROOT / 'environments' / extends}\n{body}")
    return path


def _instance(identifier: str) -> dict[str, Any]:
    (instance,) = boto3.client("rds", region_name=REGION).describe_db_instances(
        DBInstanceIdentifier=identifier)["DBInstances"]
    return dict(instance)


def _snapshots() -> dict[str, dict[str, Any]]:
    listing = boto3.client("rds", region_name=REGION).describe_db_snapshots(SnapshotType="manual")
    return {s["DBSnapshotIdentifier"]: s for s in listing["DBSnapshots"]}


def _tags(instance: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in instance.get("TagList", [])}


def _steps(deployment: Deployment) -> list[tuple[str, str]]:
    return [(stack, step) for stack, step, _ in deployment.runner.timings]


@dataclass
class Upgrade:
    """The production data stack applied at PostgreSQL 15, then moved to 16: what each step left in moto."""

    deployment: Deployment
    env: dict[str, str]  # Terraform's environment, aimed at the moto the drills restore in
    at_15: dict[str, Any]
    refused: EngineError
    after_refusal: dict[str, Any]
    snapshots_after_refusal: dict[str, dict[str, Any]]
    steps_after_refusal: list[tuple[str, str]]
    steps_before_refusal: list[tuple[str, str]]
    upgrade_changes: dict[str, list[str]]
    at_16: dict[str, Any]
    second_plan: dict[str, list[str]]


@pytest.fixture(scope="module")
def upgrade(moto: Moto, terraform_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgrade]:
    """Production's network and data at PostgreSQL 15; an unconfirmed, then a confirmed apply at 16."""
    folder = tmp_path_factory.mktemp("upgrade")
    with pytest.MonkeyPatch.context() as monkeypatch:
        env = emulated_environment(moto, terraform_env, REGION, monkeypatch)
        body = "project:\n  environment: prod\ndatabase:\n  engine_version: '{}'\n"
        at_15 = _config(folder / "prod-15.yaml", "prod.yaml", body.format("15"))
        at_16 = _config(folder / "prod-16.yaml", "prod.yaml", body.format("16"))
        prod = Deployment(at_15, REGION, moto, env, folder / "out", only=STACKS)
        try:
            first = prod.run("apply at 15", "apply")
            assert {s: statuses(first)[s] for s in STACKS} == {"network": "applied", "data": "applied"}
            before = _steps(prod)
            live_15 = _instance(SOURCE)
            with pytest.raises(EngineError) as refused:
                prod.run("apply at 16 without --confirm", "apply", at_16, confirm=None)
            after_refusal, snapshots, steps = _instance(SOURCE), _snapshots(), _steps(prod)
            upgraded = prod.run("apply at 16 --confirm prod", "apply", at_16, confirm="prod")
            live_16 = _instance(SOURCE)
            second = prod.run("plan at 16", "plan", at_16)
            yield Upgrade(prod, env, live_15, refused.value, after_refusal, snapshots, steps, before,
                          changes(upgraded), live_16, changes(second))
        finally:
            (folder / "terraform.log").write_text("\n".join(prod.runner.log))


@pytest.mark.slow
def test_production_major_upgrade_is_refused_without_confirm_before_anything_changes_against_moto(
    upgrade: Upgrade,
) -> None:
    assert upgrade.at_15["EngineVersion"].split(".")[0] == "15"
    assert "refusing the PostgreSQL major upgrade 15 -> 16" in str(upgrade.refused)
    assert "--confirm prod" in (upgrade.refused.hint or "")
    # no snapshot taken, the instance as it was, and Terraform never ran after the refusal
    assert upgrade.snapshots_after_refusal == {}
    assert upgrade.after_refusal["EngineVersion"] == upgrade.at_15["EngineVersion"]
    assert upgrade.after_refusal["DBParameterGroups"] == upgrade.at_15["DBParameterGroups"]
    assert [step for _, step in upgrade.steps_after_refusal[len(upgrade.steps_before_refusal):]] == ["version"]


@pytest.mark.slow
def test_confirmed_major_upgrade_snapshots_first_keeps_it_and_leaves_consistent_state_against_moto(
    upgrade: Upgrade,
) -> None:
    name = snapshot_name(SOURCE, "16")
    snapshot = _snapshots()[name]  # still there after the apply and the second plan
    assert snapshot["DBInstanceIdentifier"] == SOURCE and snapshot["Status"] == "available"
    assert snapshot["EngineVersion"] == upgrade.at_15["EngineVersion"]  # taken before the upgrade
    assert upgrade.at_16["EngineVersion"].split(".")[0] == "16"
    assert [g["DBParameterGroupName"] for g in upgrade.at_16["DBParameterGroups"]] == ["acme-prod-postgres16"]
    assert upgrade.at_16["InstanceCreateTime"] == upgrade.at_15["InstanceCreateTime"]  # upgraded in place
    # the new parameter group (family postgres16) is created before the instance moves to it
    assert upgrade.upgrade_changes == {"data": [
        "update aws_db_instance.database", "replace aws_db_parameter_group.database_parameters"]}
    assert upgrade.second_plan == {}, "after the upgrade a plan must find nothing to change"
    upgrade.deployment.report("prod upgrade 15 -> 16", {"snapshot": name, "changes": upgrade.upgrade_changes})


# Volatile in moto's describe output: the latest restorable time moves with the clock.
_VOLATILE = ("LatestRestorableTime",)


def _stable(instance: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in instance.items() if key not in _VOLATILE}


@pytest.mark.slow
def test_restore_drills_from_the_upgrade_snapshot_then_to_a_point_in_time_leave_the_source_untouched_against_moto(
    upgrade: Upgrade, moto: Moto, tmp_path: Path
) -> None:
    """A drill environment restored from the snapshot taken before the upgrade (rehearsing the way
    back), then re-pointed at production's latest time: each new source replaces the drill's instance."""
    before = _stable(_instance(SOURCE))
    kept = snapshot_name(SOURCE, "16")
    # A restore keeps the source's storage (RDS refuses a storage ceiling below it): the drill sizes as prod.
    body = "project:\n  environment: drill\ndatabase:\n  engine_version: '{}'\n  deletion_protection: false\n" \
           "  allocated_storage_gib: 200\n  max_allocated_storage_gib: 1000\n  restore: {}\n"
    back = _config(tmp_path / "drill-back.yaml", "dev.yaml", body.format(
        "15", f"{{mode: drill, snapshot_identifier: {kept}}}"))
    latest = _config(tmp_path / "drill-latest.yaml", "dev.yaml", body.format(
        "16", f"{{mode: drill, point_in_time: {{source_db_instance_identifier: {SOURCE}, "
        "use_latest_restorable_time: true}}"))
    drill = Deployment(back, REGION, moto, upgrade.env, tmp_path / "out", only=STACKS)
    try:
        first = drill.run("apply (snapshot)", "apply", confirm=None)
        assert {s: statuses(first)[s] for s in STACKS} == {"network": "applied", "data": "applied"}
        from_snapshot = _instance("acme-drill")
        snapshot = _snapshots()[kept]
        # the snapshot's attributes (the config sets no master user for a restore); the source untouched
        assert from_snapshot["EngineVersion"] == snapshot["EngineVersion"] == upgrade.at_15["EngineVersion"]
        assert from_snapshot["MasterUsername"] == snapshot["MasterUsername"]
        assert _tags(from_snapshot)["RestoredFrom"] == kept
        assert _stable(_instance(SOURCE)) == before and kept in _snapshots()
        assert changes(drill.run("plan (snapshot)", "plan", confirm=None)) == {}

        # 15 live, 16 configured, but a new source: replaced, not upgraded, so no upgrade snapshot
        second = drill.run("apply (point in time)", "apply", latest, confirm=None)
        assert "replace aws_db_instance.database" in changes(second)["data"]
        assert snapshot_name("acme-drill", "16") not in _snapshots()
        restored = _instance("acme-drill")
        assert restored["EngineVersion"] == upgrade.at_16["EngineVersion"]
        assert restored["MasterUsername"] == upgrade.at_16["MasterUsername"]
        assert _tags(restored)["RestoredFrom"] == f"{SOURCE}@latest"
        assert restored["InstanceCreateTime"] > from_snapshot["InstanceCreateTime"]
        assert _stable(_instance(SOURCE)) == before and kept in _snapshots()
        # The provider sends no backup retention with a point-in-time restore, and RDS then keeps the
        # source's (14 days in prod): the next apply sets the drill's in place, then nothing is left.
        drift = drill.run("plan (point in time)", "plan", latest, confirm=None)
        assert changes(drift) == {"data": ["update aws_db_instance.database"]}
        assert drift.run is not None
        (data,) = [o.summary for o in drift.run.stacks if o.summary is not None and o.summary.has_changes]
        assert "backup_retention_period" in data.changes[0].attributes
        settled = drill.run("apply (backup retention)", "apply", latest, confirm=None)
        assert changes(settled) == {"data": ["update aws_db_instance.database"]}
        assert _instance("acme-drill")["BackupRetentionPeriod"] == 3
        assert changes(drill.run("plan (settled)", "plan", latest, confirm=None)) == {}
        assert restored["KmsKeyId"] == upgrade.at_16["KmsKeyId"]  # the source's key, as RDS keeps it
        drill.report("restore drills", {"instances": [SOURCE, "acme-drill"], "snapshots": sorted(_snapshots())})
    finally:
        (tmp_path / "terraform.log").write_text("\n".join(drill.runner.log))
