"""The PostgreSQL major-upgrade and restore gate of `apply`, against moto's RDS over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import load_config
from engine.deploy.aws import aws_client
from engine.deploy.rds import prepare_database, snapshot_name
from engine.errors import EngineError
from engine.resolve import Resolved, resolve
from tests.deploy.moto_server import AwsEnv
from tests.support import ROOT


def _resolved(tmp_path: Path, environment: str, body: str = "") -> Resolved:
    path = tmp_path / f"{environment}.yaml"
    path.write_text(f"extends: {ROOT / 'environments' / f'{environment}.yaml'}\n{body}")
    return resolve(load_config(path).config)


def _live(rds: object, identifier: str, version: str, tags: list[dict[str, str]] | None = None) -> None:
    rds.create_db_instance(DBInstanceIdentifier=identifier, Engine="postgres", EngineVersion=version,  # type: ignore[attr-defined]
                           DBInstanceClass="db.t4g.small", MasterUsername="postgres",
                           MasterUserPassword="not-a-real-one-1", AllocatedStorage=20, Tags=tags or [])


def test_major_upgrade_takes_a_named_snapshot_first(aws: AwsEnv, tmp_path: Path) -> None:
    resolved = _resolved(tmp_path, "dev", "database: {engine_version: '17'}")
    rds = aws_client("rds", aws.region)
    _live(rds, "acme-dev", "16.4")
    messages: list[str] = []
    name = prepare_database(resolved, rds, None, messages.append)
    assert name == snapshot_name("acme-dev", "17") == "acme-dev-before-postgres17"
    (snapshot,) = rds.describe_db_snapshots(DBSnapshotIdentifier=name)["DBSnapshots"]
    assert snapshot["DBInstanceIdentifier"] == "acme-dev" and snapshot["SnapshotType"] == "manual"
    assert "16 -> 17" in messages[0]
    # a rerun keeps the snapshot it took
    assert prepare_database(resolved, rds, None, messages.append) == name
    assert "exists already" in messages[-1]


def test_same_major_or_no_instance_takes_nothing(aws: AwsEnv, tmp_path: Path) -> None:
    rds = aws_client("rds", aws.region)
    assert prepare_database(_resolved(tmp_path, "dev"), rds, None, print) is None  # nothing deployed yet
    _live(rds, "acme-dev", "16.4")
    assert prepare_database(_resolved(tmp_path, "dev"), rds, None, print) is None
    assert rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []


def test_production_major_upgrade_needs_confirm(aws: AwsEnv, tmp_path: Path) -> None:
    resolved = _resolved(tmp_path, "prod", "database: {engine_version: '17'}")
    rds = aws_client("rds", aws.region)
    _live(rds, "acme-prod", "16.4")
    with pytest.raises(EngineError, match="refusing the PostgreSQL major upgrade 16 -> 17") as refused:
        prepare_database(resolved, rds, None, print)
    assert "--confirm prod" in (refused.value.hint or "")
    assert rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
    assert prepare_database(resolved, rds, "prod", print) == "acme-prod-before-postgres17"


def test_downgrade_is_refused(aws: AwsEnv, tmp_path: Path) -> None:
    rds = aws_client("rds", aws.region)
    _live(rds, "acme-dev", "17.2")
    with pytest.raises(EngineError, match="cannot go back to 16"):
        prepare_database(_resolved(tmp_path, "dev"), rds, None, print)


def test_replacing_production_with_a_restore_needs_confirm(aws: AwsEnv, tmp_path: Path) -> None:
    body = "database: {restore: {mode: replace, snapshot_identifier: acme-prod-before-postgres17}}"
    resolved = _resolved(tmp_path, "prod", body)
    rds = aws_client("rds", aws.region)
    _live(rds, "acme-prod", "16.4")
    with pytest.raises(EngineError, match="replaces the live database acme-prod"):
        prepare_database(resolved, rds, None, print)
    assert prepare_database(resolved, rds, "prod", print) is None
    # once restored (the tag says from what), later applies need no confirmation
    rds.delete_db_instance(DBInstanceIdentifier="acme-prod", SkipFinalSnapshot=True)
    _live(rds, "acme-prod", "16.4", [{"Key": "RestoredFrom", "Value": "acme-prod-before-postgres17"}])
    assert prepare_database(resolved, rds, None, print) is None


def test_a_new_restore_source_replaces_the_instance_so_versions_are_not_compared(aws: AwsEnv, tmp_path: Path) -> None:
    # A drill restored to prod's latest time (16), re-pointed at the snapshot taken before prod's upgrade (15):
    # Terraform replaces the instance, so this is neither a downgrade nor an upgrade needing a snapshot.
    rds = aws_client("rds", aws.region)
    _live(rds, "acme-drill", "16.4", [{"Key": "RestoredFrom", "Value": "acme-prod@latest"}])
    back = _resolved(tmp_path, "dev", "project: {environment: drill}\ndatabase: {engine_version: '15', "
                     "restore: {mode: drill, snapshot_identifier: acme-prod-before-postgres16}}")
    assert prepare_database(back, rds, None, print) is None
    forward = _resolved(tmp_path, "dev", "project: {environment: drill}\ndatabase: {engine_version: '17', "
                        "restore: {mode: drill, snapshot_identifier: acme-prod-before-postgres16}}")
    assert prepare_database(forward, rds, None, print) is None
    assert rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
    # once restored from that source, the version gate applies again
    rds.delete_db_instance(DBInstanceIdentifier="acme-drill", SkipFinalSnapshot=True)
    _live(rds, "acme-drill", "15.8", [{"Key": "RestoredFrom", "Value": "acme-prod-before-postgres16"}])
    assert prepare_database(forward, rds, None, print) == "acme-drill-before-postgres17"
