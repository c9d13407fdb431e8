"""`secrets rotate` against moto's Secrets Manager and the PostgreSQL test database.

The environment is first brought to where `apply` leaves it (every container filled, every
login role's password set from its secret); then a rotation must change exactly what it names:
the old password stops working, the new one works, every other secret and role is untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3
import jwt
import psycopg
import pytest

from engine.catalog import COMPONENT_NAMES, role_secret
from engine.cli import main
from engine.deploy.aws import aws_client
from engine.deploy.database import LOGIN_ROLES, bootstrap
from engine.deploy.rotate import READERS, confirmation, plan_rotation, rotate
from engine.deploy.run import rotate_of_config
from engine.deploy.secrets import bootstrap_secrets, key_lifetime_seconds
from engine.errors import EngineError
from engine.render import render_manifests
from engine.resolve import resolve
from engine.targets.helm import compile_values, derived_outputs
from tests.deploy.conftest import MASTER_PASSWORD, MASTER_USER, FreshDatabase
from tests.deploy.moto_server import AwsEnv
from tests.support import example, resolved_env

RESOLVED = resolved_env("dev")
REGION = RESOLVED.config.project.region
NOW = 1_767_225_600


def raw() -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


def value(short: str, stage: str = "AWSCURRENT") -> str:
    return str(raw().get_secret_value(SecretId=RESOLVED.names["secret_prefix"] + short,
                                      VersionStage=stage)["SecretString"])


def stages(short: str) -> dict[str, list[str]]:
    return dict(raw().describe_secret(SecretId=RESOLVED.names["secret_prefix"] + short)["VersionIdsToStages"])


def all_stages() -> dict[str, dict[str, list[str]]]:
    return {s.name: stages(s.name) for s in RESOLVED.secrets if s.kind != "external"}


def applied(database: FreshDatabase) -> None:
    """What `apply` leaves: filled containers, and each login role's password from its secret."""
    for secret in RESOLVED.secrets:
        raw().create_secret(Name=RESOLVED.secret_name(secret), Description=secret.purpose)
    bootstrap_secrets(aws_client("secretsmanager", REGION), RESOLVED, now=lambda: NOW)
    bootstrap(database.master_dsn, {role: value(role_secret(role)) for role in LOGIN_ROLES})


def can_log_in(database: FreshDatabase, role: str, password: str) -> bool:
    try:
        with psycopg.connect(database.dsn_as(role, password), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        assert "password authentication failed" in str(exc)
        return False
    return True


def run(names: tuple[str, ...], database: FreshDatabase) -> None:
    def set_passwords(passwords: Mapping[str, str]) -> None:
        bootstrap(database.master_dsn, passwords)

    rotate(aws_client("secretsmanager", REGION), RESOLVED, plan_rotation(RESOLVED, names),
           set_passwords=set_passwords, now=lambda: NOW + 100)


def test_database_password_rotates_and_nothing_else_changes(aws: AwsEnv, database: FreshDatabase) -> None:
    applied(database)
    old = {role: value(role_secret(role)) for role in LOGIN_ROLES}
    before = all_stages()

    run(("db-authenticator",), database)

    new = value("db-authenticator")
    assert new != old["authenticator"] and len(new) == 40
    assert not can_log_in(database, "authenticator", old["authenticator"])
    assert can_log_in(database, "authenticator", new)
    for role in LOGIN_ROLES:
        if role != "authenticator":
            assert can_log_in(database, role, old[role]), role
    after = all_stages()
    assert {name for name in before if before[name] != after[name]} == {"db-authenticator"}
    assert value("db-authenticator", "AWSPREVIOUS") == old["authenticator"]
    assert sorted(label for labels in after["db-authenticator"].values() for label in labels) == [
        "AWSCURRENT", "AWSPREVIOUS"]


def test_jwt_secret_rotates_with_both_keys_resigned(aws: AwsEnv, database: FreshDatabase) -> None:
    applied(database)
    old_secret, before = value("jwt-secret"), all_stages()

    run(("jwt-secret",), database)

    secret = value("jwt-secret")
    assert secret != old_secret
    for short, role in (("anon-key", "anon"), ("service-role-key", "service_role")):
        claims = jwt.decode(value(short), secret, algorithms=["HS256"], issuer="supabase")
        assert claims == {"role": role, "iss": "supabase", "iat": NOW + 100,
                          "exp": NOW + 100 + key_lifetime_seconds(RESOLVED)}
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(value(short), old_secret, algorithms=["HS256"])
    after = all_stages()
    assert {n for n in before if before[n] != after[n]} == {"jwt-secret", "anon-key", "service-role-key"}


def test_keys_alone_are_resigned_with_the_current_secret(aws: AwsEnv, database: FreshDatabase) -> None:
    applied(database)
    secret = value("jwt-secret")

    run(("anon-key",), database)

    assert value("jwt-secret") == secret
    assert jwt.decode(value("anon-key"), secret, algorithms=["HS256"])["iat"] == NOW + 100


def test_a_database_failure_changes_no_current_value(aws: AwsEnv, database: FreshDatabase) -> None:
    applied(database)
    old = value("db-supabase-admin")
    before = {n: value(n) for n in ("db-supabase-admin", "meta-crypto-key")}

    def refuse(passwords: Any) -> None:
        raise EngineError("the database refused")

    with pytest.raises(EngineError, match="refused"):
        rotate(aws_client("secretsmanager", REGION), RESOLVED,
               plan_rotation(RESOLVED, ("db-supabase-admin", "meta-crypto-key")), set_passwords=refuse)

    assert {n: value(n) for n in before} == before
    assert can_log_in(database, "supabase_admin", old)


def test_cli_rotates_through_the_bootstrap_path(aws: AwsEnv, database: FreshDatabase,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    applied(database)
    old = value("db-supabase-auth-admin")
    unchanged = all_stages()
    monkeypatch.setenv("PGPASSWORD", MASTER_PASSWORD)
    monkeypatch.setattr("engine.deploy.run.check_account", lambda resolved: None)  # moto's STS account differs
    dsn = database.server.dsn(database.name, MASTER_USER)

    code = main(["secrets", "rotate", str(example("dev")), "db-supabase-auth-admin", "--dsn", dsn, "--yes"])

    out = capsys.readouterr()
    assert code == 0, out.err
    assert "rotated acme-dev/db-supabase-auth-admin" in out.out and "rolls auth" in out.out
    new = value("db-supabase-auth-admin")
    assert new not in out.out + out.err and old not in out.out + out.err
    assert can_log_in(database, "supabase_auth_admin", new)
    assert not can_log_in(database, "supabase_auth_admin", old)
    after = all_stages()
    assert {n for n in unchanged if unchanged[n] != after[n]} == {"db-supabase-auth-admin"}


def test_dry_run_touches_nothing(aws: AwsEnv, database: FreshDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    applied(database)
    before = all_stages()

    assert main(["secrets", "rotate", str(example("dev")), "--dry-run"]) == 0

    out = capsys.readouterr().out
    assert "would rotate acme-dev/jwt-secret" in out and "would rotate acme-dev/anon-key" in out
    assert all_stages() == before


def test_rotation_without_a_dsn_stops_before_asking(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secrets", "rotate", str(example("dev")), "db-authenticator", "--yes"]) == 1
    assert "--dsn" in capsys.readouterr().err


@pytest.mark.parametrize("name, message", [
    ("smtp-password", "only you have"), ("realtime-db-enc-key", "not rotated"), ("no-such", "not a secret"),
])
def test_refused_names(name: str, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        plan_rotation(RESOLVED, (name,))


@pytest.mark.parametrize("studio_cidrs", [(), ("203.0.113.0/24",)])
def test_readers_are_the_pods_that_read_each_secret(studio_cidrs: tuple[str, ...]) -> None:
    """READERS decides which pods the output says will roll: it must match the chart."""
    config = resolved_env("prod").config
    security = config.security.model_copy(update={"studio": config.security.studio.model_copy(
        update={"allowed_cidrs": studio_cidrs})})
    config = config.model_copy(update={"security": security})
    components = config.supabase.components
    everything = components.model_copy(update={
        name: getattr(components, name).model_copy(update={"enabled": True}) for name in COMPONENT_NAMES})
    config = config.model_copy(update={"supabase": config.supabase.model_copy(update={"components": everything})})
    resolved = resolve(config)
    objects = render_manifests(compile_values(resolved, derived_outputs(resolved)),
                               kube_version=config.cluster.kubernetes_version)
    read: dict[str, set[str]] = {}
    for obj in objects:
        if obj["kind"] == "Deployment":
            for env in obj["spec"]["template"]["spec"]["containers"][0]["env"]:
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    read.setdefault(ref["name"].rsplit("-", 1)[0], set()).add(obj["metadata"]["name"])
    for rotation in plan_rotation(resolved, ()):
        assert set(rotation.readers) == read.get(rotation.secret.name, set()), rotation.secret.name
    assert set(READERS) >= {r.secret.name for r in plan_rotation(resolved, ())}


def test_jwt_confirmation_says_what_clients_must_do() -> None:
    text = confirmation(RESOLVED, plan_rotation(RESOLVED, ("jwt-secret",)))
    assert "Every client must get the new anon key" in text
    assert "aws secretsmanager get-secret-value --secret-id acme-dev/anon-key --query SecretString" in text
    assert "acme-dev/service-role-key" in text and text.endswith("go ahead?")
    assert "Database passwords" not in text


def test_a_declined_rotation_changes_nothing(aws: AwsEnv) -> None:
    for secret in RESOLVED.secrets:
        raw().create_secret(Name=RESOLVED.secret_name(secret), Description=secret.purpose)
    bootstrap_secrets(aws_client("secretsmanager", REGION), RESOLVED, now=lambda: NOW)
    before = all_stages()
    questions: list[str] = []

    def decline(question: str) -> bool:
        questions.append(question)
        return False

    with pytest.raises(EngineError, match="declined"):
        rotate_of_config(example("dev"), ("jwt-secret", "meta-crypto-key"), dsn=None, dry_run=False, yes=False,
                         ask=decline)
    assert len(questions) == 1 and "new anon key" in questions[0]
    assert all_stages() == before
