"""RDS PostgreSQL for Supabase: private, encrypted with the data key, TLS only, observable.

The instance lives in the database subnets behind its own security group. The network stack
owns that group and its single ingress rule (5432 from the workload security group the cluster
stack attaches to the nodes), so the data and cluster stacks need nothing from each other.

The master password is generated and kept by RDS in Secrets Manager (encrypted with the data
key); Terraform never sees it. The parameter group forces TLS, enables logical replication
(Realtime) and `pg_stat_statements`, and logs DDL and slow statements. RDS log exports go to log
groups created here first, so they get the logs key and a retention period instead of
RDS's unencrypted never-expiring defaults.

Alarms (thresholds from `observability.alarms`): CPU, free storage, connections (a percentage of
RDS's default `max_connections` for the class)
and the oldest replication slot's lag (a stuck Realtime slot retains WAL until the disk fills).
Major upgrades and restores: `allow_major_version_upgrade` and `apply_immediately` are always on,
because `apply` is the gate: before the data stack it compares the live instance with the config,
takes a named, kept snapshot before a major upgrade and demands `--confirm` in production
(engine.deploy.rds). The parameter group is named after the major version, so a new major gets a
new group (its family cannot change in place), created before the old one is destroyed.
`database.restore` creates the instance from a snapshot or another instance's point in time.

There is no replica-lag alarm: a Multi-AZ *instance* replicates synchronously to a standby that
publishes no `ReplicaLag` metric (that metric exists for read replicas and Multi-AZ clusters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cdktn import TerraformResourceLifecycle
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.db_instance import DbInstance, DbInstanceRestoreToPointInTime
from cdktn_provider_aws.db_parameter_group import DbParameterGroup, DbParameterGroupParameter
from cdktn_provider_aws.db_subnet_group import DbSubnetGroup
from cdktn_provider_aws.security_group import SecurityGroup

from engine.config.model.database import Restore
from engine.targets.terraform import iam
from engine.targets.terraform.alarms import metric_alarm
from engine.targets.terraform.base import BaseStack

PORT = 5432
RESTORED_FROM = "RestoredFrom"
MASTER_USERNAME = "postgres"
LOG_EXPORTS = ("postgresql", "upgrade")
MONITORING_INTERVAL_SECONDS = 60
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
SLOT_LAG_BYTES = 5 * 1024**3
GIB = 1024**3

# (name, value, apply_method): static parameters only take effect after a reboot.
PARAMETERS = (
    ("log_min_duration_statement", "1000", "immediate"),
    ("log_statement", "ddl", "immediate"),
    ("rds.force_ssl", "1", "immediate"),
    ("rds.logical_replication", "1", "pending-reboot"),
    ("shared_preload_libraries", "pg_stat_statements", "pending-reboot"),
)

# Memory of the `large` size per instance family letter, in GiB (t4g/m: 8, r: 16, x: 32).
_LARGE_MEMORY_GIB = {"t": 8, "m": 8, "c": 4, "r": 16, "x": 32, "z": 16}
_SIZE_FACTOR = {"micro": 0.125, "small": 0.25, "medium": 0.5, "large": 1.0, "xlarge": 2.0}


@dataclass(frozen=True)
class RdsDatabase:
    """The RDS instance and the security group it sits behind (owned by the network stack)."""

    instance: DbInstance
    security_group: SecurityGroup


def restored_from(restore: Restore) -> str:
    """The `RestoredFrom` tag value: the snapshot, or `source@time` of a point-in-time restore."""
    if restore.snapshot_identifier is not None:
        return restore.snapshot_identifier
    assert restore.point_in_time is not None  # the config rules require one source
    point = restore.point_in_time
    return f"{point.source_db_instance_identifier}@{point.restore_time or 'latest'}"


def default_max_connections(instance_class: str) -> int:
    """RDS PostgreSQL's default: LEAST(DBInstanceClassMemory / 9531392, 5000), memory estimated from the class."""
    family, size = instance_class.removeprefix("db.").split(".", 1)
    multiple = re.fullmatch(r"(\d+)xlarge", size)
    factor = 2.0 * int(multiple.group(1)) if multiple else _SIZE_FACTOR.get(size, 1.0)
    memory = _LARGE_MEMORY_GIB.get(family[0], 8) * factor * GIB
    return int(min(memory / 9531392, 5000))


def database(stack: BaseStack, *, key_arn: str, logs_key_arn: str, group: SecurityGroup, subnet_ids: list[str],
             topic_arn: str) -> RdsDatabase:
    db = stack.config.database
    identifier = stack.resolved.names["database"]
    subnets = DbSubnetGroup(stack, "database_subnet_group", name=stack.name("database"), subnet_ids=subnet_ids,
                            description="Database subnets (no internet route)")
    parameters = DbParameterGroup(
        stack, "database_parameters", name=stack.name(f"postgres{db.engine_version}"),
        family=f"postgres{db.engine_version}", description="TLS only, logical replication, statement logging",
        parameter=[DbParameterGroupParameter(name=n, value=v, apply_method=m) for n, v, m in PARAMETERS],
        lifecycle=TerraformResourceLifecycle(create_before_destroy=True))
    monitoring = iam.role(stack, "database_monitoring_role", name=stack.role_name("rds-monitoring"),
                          trust=iam.trust_service(stack, "database_monitoring_trust", "monitoring.rds.amazonaws.com",
                                                  source_account=stack.account_id),
                          managed_policies=[stack.managed_policy("service-role/AmazonRDSEnhancedMonitoringRole")],
                          description="RDS enhanced monitoring")
    log_groups = [
        CloudwatchLogGroup(stack, f"database_{export}_logs", name=f"/aws/rds/instance/{identifier}/{export}",
                           retention_in_days=stack.config.observability.log_retention_days, kms_key_id=logs_key_arn)
        for export in LOG_EXPORTS
    ]
    restore = db.restore
    point = restore.point_in_time if restore else None
    # A restored instance takes its master user, database and storage key from the snapshot or
    # source: RDS restores a snapshot with its own key, and the provider sends none with a point in
    # time restore, so a kms_key_id here would force a replacement on every later plan.
    instance = DbInstance(
        stack, "database", identifier=identifier, engine="postgres", engine_version=db.engine_version,
        snapshot_identifier=restore.snapshot_identifier if restore else None,
        restore_to_point_in_time=DbInstanceRestoreToPointInTime(
            source_db_instance_identifier=point.source_db_instance_identifier, restore_time=point.restore_time,
            use_latest_restorable_time=point.use_latest_restorable_time or None) if point else None,
        allow_major_version_upgrade=True, apply_immediately=True, tags=_restore_tags(stack),
        instance_class=db.instance_class, allocated_storage=db.allocated_storage_gib,
        max_allocated_storage=db.max_allocated_storage_gib, storage_type="gp3", storage_encrypted=True,
        kms_key_id=key_arn if restore is None else None, manage_master_user_password=True,
        db_name="postgres" if restore is None else None, username=MASTER_USERNAME if restore is None else None,
        master_user_secret_kms_key_id=key_arn, iam_database_authentication_enabled=True,
        performance_insights_enabled=db.performance_insights,
        performance_insights_kms_key_id=key_arn if db.performance_insights else None,
        monitoring_interval=MONITORING_INTERVAL_SECONDS, monitoring_role_arn=monitoring.arn,
        enabled_cloudwatch_logs_exports=list(LOG_EXPORTS), publicly_accessible=False, multi_az=db.multi_az,
        deletion_protection=db.deletion_protection, backup_retention_period=db.backup_retention_days,
        backup_window=db.backup_window, maintenance_window=db.maintenance_window,
        auto_minor_version_upgrade=True, copy_tags_to_snapshot=True, skip_final_snapshot=False,
        final_snapshot_identifier=f"{identifier}-final", db_subnet_group_name=subnets.name,
        parameter_group_name=parameters.name, vpc_security_group_ids=[group.id], port=PORT,
        ca_cert_identifier=CA_CERTIFICATE, depends_on=log_groups,
    )
    _alarms(stack, identifier, topic_arn)
    return RdsDatabase(instance=instance, security_group=group)


def _restore_tags(stack: BaseStack) -> dict[str, str] | None:
    """`RestoredFrom` names the source, so `apply` can tell a pending replacement from a done one."""
    restore = stack.config.database.restore
    return None if restore is None else {RESTORED_FROM: restored_from(restore)}


def _alarms(stack: BaseStack, identifier: str, topic_arn: str) -> None:
    db = stack.config.database
    limits = stack.config.observability.alarms
    cpu, free, connections = (limits.database_cpu_percent, limits.database_free_storage_percent,
                              limits.database_connections_percent)
    alarms = (  # (key, description, metric, statistic, comparison, threshold)
        ("cpu", f"Database CPU above {cpu}% for 15 minutes", "CPUUtilization", "Average", "GreaterThanThreshold",
         cpu),
        ("free-storage", f"Database free storage below {free}% of the allocated storage", "FreeStorageSpace",
         "Minimum", "LessThanThreshold", db.allocated_storage_gib * GIB * free // 100),
        ("connections", f"Database connections above {connections}% of max_connections", "DatabaseConnections",
         "Maximum", "GreaterThanThreshold", default_max_connections(db.instance_class) * connections // 100),
        ("replication-slot-lag", "A replication slot (Realtime) retains more than 5 GiB of WAL",
         "OldestReplicationSlotLag", "Maximum", "GreaterThanThreshold", SLOT_LAG_BYTES),
    )
    for key, description, metric, statistic, comparison, threshold in alarms:
        metric_alarm(stack, f"database_{key.replace('-', '_')}_alarm", topic_arn=topic_arn, name=f"database-{key}",
                     description=description, namespace="AWS/RDS", metric=metric,
                     dimensions={"DBInstanceIdentifier": identifier}, statistic=statistic, comparison=comparison,
                     threshold=threshold)
