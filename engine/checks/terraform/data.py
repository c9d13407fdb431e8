"""Database and secret rules: RDS encryption with our CMK, TLS, private subnets; Secrets Manager.

SECURITY.md rows: "RDS private, encrypted with our CMK", "RDS TLS enforced", "RDS master secret",
"RDS auth and observability" (Performance Insights with CMK), "Secrets Manager".
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.checks.findings import Finding, Rule
from engine.checks.terraform.json import blocks, is_true
from engine.checks.terraform.model import Env
from engine.checks.terraform.network import subnet_problems

KEY_ATTRS = ("arn", "key_id", "id")  # attributes of aws_kms_key that name it where an id or ARN is taken


def _rds_cmk(env: Env) -> Iterator[Finding]:
    """CKV_AWS_16/17 pass with the AWS-managed `aws/rds` key; we require our own CMK (own), for
    storage, Performance Insights and the RDS-managed master secret, whose password therefore
    never appears in configuration or state."""
    for db in env.all("aws_db_instance"):
        body = db.body
        if not is_true(body.get("storage_encrypted")):
            yield db.finding("RDS_CMK", "storage_encrypted must be true")
        # A restore keeps the key of its snapshot or source instance (another environment's CMK).
        restored = body.get("snapshot_identifier") or body.get("restore_to_point_in_time")
        if not restored and not env.refs_to(db.stack, body.get("kms_key_id"), "aws_kms_key", ("arn",)):
            yield db.finding("RDS_CMK", "kms_key_id must reference an aws_kms_key arn (not the aws/rds key)")
        if is_true(body.get("publicly_accessible")):
            yield db.finding("RDS_CMK", "publicly_accessible must be false")
        if is_true(body.get("performance_insights_enabled")) and not env.refs_to(
                db.stack, body.get("performance_insights_kms_key_id"), "aws_kms_key", ("arn",)):
            yield db.finding("RDS_CMK", "performance_insights_kms_key_id must reference an aws_kms_key arn")
        if not is_true(body.get("manage_master_user_password")):
            yield db.finding("RDS_CMK", "manage_master_user_password must be true (RDS keeps the secret)")
        elif not env.refs_to(db.stack, body.get("master_user_secret_kms_key_id"), "aws_kms_key", KEY_ATTRS):
            yield db.finding("RDS_CMK", "master_user_secret_kms_key_id must reference an aws_kms_key")
        if body.get("password") is not None:
            yield db.finding("RDS_CMK", "password is set, so it lands in Terraform state; remove it")


def _rds_tls(env: Env) -> Iterator[Finding]:
    """CKV2_AWS_69 passes when no parameter group is attached (own): the instance must use one
    of our parameter groups, and that group must set `rds.force_ssl` to 1."""
    for db in env.all("aws_db_instance"):
        groups = [g for g in map(env.get, env.refs_to(db.stack, db.body.get("parameter_group_name"),
                                                      "aws_db_parameter_group")) if g is not None]
        if not groups:
            yield db.finding("RDS_TLS", "parameter_group_name must reference an aws_db_parameter_group")
        for group in groups:
            if not any(p.get("name") == "rds.force_ssl" and str(p.get("value")) == "1"
                       for p in blocks(group.body, "parameter")):
                yield db.finding("RDS_TLS", f"parameter group {group.address} must set rds.force_ssl = \"1\"")


def _rds_subnets(env: Env) -> Iterator[Finding]:
    """"RDS private ... database subnets only" (own): the subnet group's subnets must be private
    by the same route-table analysis as node groups; `publicly_accessible=false` alone does not
    stop a public subnet from being routable."""
    for db in env.all("aws_db_instance"):
        refs = env.refs_to(db.stack, db.body.get("db_subnet_group_name"), "aws_db_subnet_group")
        groups = [g for g in map(env.get, refs) if g is not None]
        if not groups:
            yield db.finding("RDS_SUBNETS", "db_subnet_group_name must reference an aws_db_subnet_group")
        for group in groups:
            for problem in subnet_problems(env, group.stack, group.body.get("subnet_ids")):
                yield db.finding("RDS_SUBNETS", f"subnet group {group.address}: {problem}")


def _secrets_cmk(env: Env) -> Iterator[Finding]:
    """CKV_AWS_149 (own: CMK, not `aws/secretsmanager`). No `aws_secretsmanager_secret_version`:
    a secret value written by Terraform is stored in plain text in the state file."""
    for secret in env.all("aws_secretsmanager_secret"):
        if not env.refs_to(secret.stack, secret.body.get("kms_key_id"), "aws_kms_key", KEY_ATTRS):
            yield secret.finding("SECRETS_CMK", f"kms_key_id is {secret.body.get('kms_key_id')!r}; reference one "
                                 "of our aws_kms_key resources (never alias/aws/secretsmanager)")
    for version in env.all("aws_secretsmanager_secret_version"):
        yield version.finding("SECRETS_CMK", "secret values must not pass through Terraform (they end up in "
                              "state); let RDS or a rotator write the value")


RULES = (
    Rule("RDS_CMK", "RDS storage, Performance Insights and master secret use our CMK; not public; no password",
         "RDS private, encrypted with our CMK (CKV_AWS_16/17); RDS master secret; Performance Insights with CMK",
         _rds_cmk),
    Rule("RDS_TLS", "RDS uses our parameter group and it sets rds.force_ssl=1",
         "RDS TLS enforced (CKV2_AWS_69)", _rds_tls),
    Rule("RDS_SUBNETS", "RDS subnet groups contain private subnets only",
         "RDS private ... database subnets only", _rds_subnets),
    Rule("SECRETS_CMK", "secrets use our CMK; no aws_secretsmanager_secret_version",
         "Secrets Manager (CKV_AWS_149)", _secrets_cmk),
)
