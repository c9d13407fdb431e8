"""Before `apply` touches the data stack: guard and prepare a PostgreSQL major upgrade or a restore.

Terraform always allows a major upgrade (see engine.targets.terraform.database); this is the gate.
The live instance is compared with the config: a major upgrade takes a named manual snapshot
first (kept until someone deletes it; aws_db_instance has no such attribute) and, in production,
needs `--confirm <environment>`, as does replacing a live instance with a restore. A new restore
source replaces the instance rather than upgrading it, so then versions are not compared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.deploy.aws import aws_errors, error_code
from engine.errors import EngineError
from engine.resolve import Resolved
from engine.targets.terraform.database import RESTORED_FROM, restored_from


def snapshot_name(identifier: str, major: str) -> str:
    return f"{identifier}-before-postgres{major}"


def prepare_database(resolved: Resolved, rds: Any, confirm: str | None,
                     progress: Callable[[str], None]) -> str | None:
    """Check the live instance against the config; returns the snapshot taken, if any."""
    identifier = resolved.names["database"]
    live = _instance(rds, identifier)
    if live is None:
        return None
    environment = resolved.config.project.environment
    production = resolved.config.project.tier == "production"
    restore = resolved.config.database.restore
    tags = {t["Key"]: t["Value"] for t in live.get("TagList", [])}
    if restore is not None and tags.get(RESTORED_FROM) != restored_from(restore):
        if restore.mode == "replace" and production and confirm != environment:
            raise EngineError(f"this apply replaces the live database {identifier} with a restore of "
                              f"{restored_from(restore)}", f"pass --confirm {environment} to replace it")
        # A new restore source replaces the instance (snapshot_identifier and restore_to_point_in_time
        # force a new one): the live version is not upgraded, so no upgrade snapshot nor downgrade refusal.
        return None
    current = str(live["EngineVersion"]).split(".")[0]
    target = resolved.config.database.engine_version
    if int(target) < int(current):
        raise EngineError(f"{identifier} runs PostgreSQL {current}; it cannot go back to {target}",
                          f"set database.engine_version to {current}, or restore into a new environment")
    if int(target) == int(current):
        return None
    if production and confirm != environment:
        raise EngineError(f"refusing the PostgreSQL major upgrade {current} -> {target} of production "
                          f"database {identifier} without confirmation",
                          f"read `supa-engine upgrade plan`, then pass --confirm {environment}")
    name = snapshot_name(identifier, target)
    with aws_errors(f"taking the snapshot {name}"):
        try:
            rds.describe_db_snapshots(DBSnapshotIdentifier=name)
            progress(f"snapshot {name} exists already (kept from an earlier attempt)")
        except Exception as exc:
            if error_code(exc) != "DBSnapshotNotFound":
                raise
            progress(f"taking snapshot {name} before the PostgreSQL {current} -> {target} upgrade")
            rds.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier=identifier,
                                   Tags=[{"Key": "Purpose", "Value": f"before PostgreSQL {target}"}])
        rds.get_waiter("db_snapshot_available").wait(DBSnapshotIdentifier=name,
                                                     WaiterConfig={"Delay": 15, "MaxAttempts": 240})
    return name


def _instance(rds: Any, identifier: str) -> dict[str, Any] | None:
    with aws_errors(f"describing the database {identifier}"):
        try:
            instances = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        except Exception as exc:
            if error_code(exc) == "DBInstanceNotFound":
                return None
            raise
    return dict(instances[0]) if instances else None
