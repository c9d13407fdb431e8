"""Secrets bootstrap against moto's HTTP server.

The containers are created here with plain boto3, as the data stack's Terraform would: empty,
no version. Values are read back with boto3 only to check them; the engine's reports must hold
names and states alone.
"""

from __future__ import annotations

import json
import logging
import string
from typing import Any

import boto3
import jwt
import pytest

from engine.cli import main
from engine.deploy.aws import aws_client
from engine.deploy.secrets import (
    SecretsReport,
    bootstrap_secrets,
    key_lifetime_seconds,
    random_text,
    secrets_status,
    sign_jwt,
)
from engine.errors import EngineError
from engine.resolve import Resolved
from tests.deploy.moto_server import AwsEnv, closed_port
from tests.support import example, resolved_env

RESOLVED = resolved_env("dev")
REGION = RESOLVED.config.project.region
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
URL_SAFE = set(string.ascii_letters + string.digits + "-_")


def name(short: str, resolved: Resolved = RESOLVED) -> str:
    return resolved.names["secret_prefix"] + short


def raw() -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


def create_containers(*, skip: tuple[str, ...] = ()) -> None:
    """What Terraform's data stack does: one empty container per secret."""
    for secret in RESOLVED.secrets:
        if secret.name not in skip:
            raw().create_secret(Name=RESOLVED.secret_name(secret), Description=secret.purpose)


def value(short: str) -> str:
    return str(raw().get_secret_value(SecretId=name(short))["SecretString"])


def versions(short: str) -> dict[str, list[str]]:
    return dict(raw().describe_secret(SecretId=name(short)).get("VersionIdsToStages") or {})


def states(report: SecretsReport | list[Any]) -> dict[str, str]:
    items = report.secrets if isinstance(report, SecretsReport) else report
    return {s.name.removeprefix(RESOLVED.names["secret_prefix"]): s.state for s in items}


def bootstrap() -> SecretsReport:
    return bootstrap_secrets(aws_client("secretsmanager", REGION), RESOLVED, now=lambda: NOW)


GENERATED = [s.name for s in RESOLVED.secrets if s.kind != "external"]
RANDOM = [s for s in RESOLVED.secrets if s.kind == "random"]


def test_dev_config_has_every_kind_of_secret() -> None:
    kinds = {s.kind for s in RESOLVED.secrets}
    assert {"random", "jwt:anon", "jwt:service_role", "external"} <= kinds


def test_bootstrap_fills_every_empty_container(aws: AwsEnv) -> None:
    create_containers()

    report = bootstrap()

    assert states(report) == {**dict.fromkeys(GENERATED, "generated"), "smtp-password": "needs value"}
    assert [s.name for s in report.secrets] == [RESOLVED.secret_name(s) for s in RESOLVED.secrets]
    for secret in RANDOM:
        text = value(secret.name)
        assert len(text) == secret.length and set(text) <= URL_SAFE, secret.name
    assert len({value(s.name) for s in RANDOM}) == len(RANDOM)  # all different


def test_generated_api_keys_verify_with_the_generated_jwt_secret(aws: AwsEnv) -> None:
    create_containers()
    bootstrap()

    key = value("jwt-secret")
    for short, role in (("anon-key", "anon"), ("service-role-key", "service_role")):
        claims = jwt.decode(value(short), key, algorithms=["HS256"], issuer="supabase",
                            options={"require": ["exp", "iat", "iss", "role"]})
        assert claims == {"role": role, "iss": "supabase", "iat": NOW, "exp": NOW + key_lifetime_seconds(RESOLVED)}
        assert key_lifetime_seconds(RESOLVED) == 730 * 24 * 3600  # the default: two years
        assert jwt.get_unverified_header(value(short))["alg"] == "HS256"
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(value(short), key + "x", algorithms=["HS256"])


def test_second_run_changes_nothing(aws: AwsEnv) -> None:
    create_containers()
    bootstrap()
    before = {s: versions(s) for s in GENERATED}

    again = bootstrap()

    assert states(again) == {**dict.fromkeys(GENERATED, "set"), "smtp-password": "needs value"}
    assert {s: versions(s) for s in GENERATED} == before
    assert all(len(v) == 1 for v in before.values())


def test_existing_values_are_never_replaced(aws: AwsEnv) -> None:
    create_containers()
    raw().put_secret_value(SecretId=name("db-authenticator"), SecretString="chosen-by-hand")
    before = versions("db-authenticator")

    report = bootstrap()

    assert states(report)["db-authenticator"] == "set"
    assert value("db-authenticator") == "chosen-by-hand" and versions("db-authenticator") == before


def test_existing_jwt_secret_signs_the_missing_api_keys(aws: AwsEnv) -> None:
    create_containers()
    existing = "an-existing-jwt-secret-of-at-least-thirty-two-characters"
    raw().put_secret_value(SecretId=name("jwt-secret"), SecretString=existing)

    report = bootstrap()

    assert states(report)["jwt-secret"] == "set"
    assert states(report)["anon-key"] == states(report)["service-role-key"] == "generated"
    assert value("jwt-secret") == existing
    assert jwt.decode(value("anon-key"), existing, algorithms=["HS256"])["role"] == "anon"


def test_external_secret_stays_empty_and_says_how_to_set_it(aws: AwsEnv) -> None:
    create_containers()

    smtp = next(s for s in bootstrap().secrets if s.name == name("smtp-password"))

    assert smtp.state == "needs value" and versions("smtp-password") == {}
    assert smtp.hint is not None
    assert f"aws secretsmanager put-secret-value --secret-id {name('smtp-password')}" in smtp.hint


def test_missing_containers_are_reported_not_created(aws: AwsEnv) -> None:
    create_containers(skip=("meta-crypto-key", "jwt-secret"))

    report = bootstrap()

    got = states(report)
    assert got["meta-crypto-key"] == got["jwt-secret"] == "missing container"
    assert got["anon-key"] == got["service-role-key"] == "missing container"  # nothing to sign them with
    assert got["db-authenticator"] == "generated"
    hints = {s.name: s.hint or "" for s in report.secrets}
    assert "run apply of the data stack first" in hints[name("meta-crypto-key")]
    assert name("jwt-secret") in hints[name("anon-key")]
    listed = {s["Name"] for s in raw().list_secrets()["SecretList"]}
    assert name("meta-crypto-key") not in listed and name("jwt-secret") not in listed
    assert versions("anon-key") == {}


def test_container_scheduled_for_deletion_is_not_written(aws: AwsEnv) -> None:
    create_containers()
    raw().delete_secret(SecretId=name("meta-crypto-key"), RecoveryWindowInDays=7)

    meta = next(s for s in bootstrap().secrets if s.name == name("meta-crypto-key"))

    assert meta.state == "missing container"
    assert meta.hint is not None and f"restore-secret --secret-id {name('meta-crypto-key')}" in meta.hint
    assert versions("meta-crypto-key") == {}


def test_concurrent_run_that_stored_first_wins(aws: AwsEnv) -> None:
    """Another run stored the JWT secret between our lookup and our write (same request token)."""
    create_containers()
    client = aws_client("secretsmanager", REGION)
    first = bootstrap_secrets(client, RESOLVED, now=lambda: NOW)  # "the other run"
    winner = value("jwt-secret")
    for short in ("jwt-secret", "anon-key"):  # leave both as the other run left them
        assert states(first)[short] == "generated"
    raw().delete_secret(SecretId=name("service-role-key"), ForceDeleteWithoutRecovery=True)
    raw().create_secret(Name=name("service-role-key"))

    class StaleDescribe:
        """Answers DescribeSecret as it was before the other run wrote: no versions yet."""

        def __getattr__(self, attribute: str) -> Any:
            return getattr(client, attribute)

        def describe_secret(self, SecretId: str) -> dict[str, Any]:
            answer = dict(client.describe_secret(SecretId=SecretId))
            answer.pop("VersionIdsToStages", None)
            return answer

    second = bootstrap_secrets(StaleDescribe(), RESOLVED, now=lambda: NOW + 60)

    assert states(second)["jwt-secret"] == "set"  # its write was refused: the other run's value stands
    assert value("jwt-secret") == winner
    assert jwt.decode(value("service-role-key"), winner, algorithms=["HS256"])["iat"] == NOW + 60


def test_status_reports_names_and_states_without_reading_values(aws: AwsEnv) -> None:
    create_containers(skip=("meta-crypto-key",))
    client = aws_client("secretsmanager", REGION)
    calls: list[str] = []

    class Recording:
        def __getattr__(self, attribute: str) -> Any:
            calls.append(attribute)
            return getattr(client, attribute)

    before = states(secrets_status(Recording(), RESOLVED))
    assert before["meta-crypto-key"] == "missing container"
    assert before["smtp-password"] == "needs value"
    assert before["jwt-secret"] == before["anon-key"] == before["db-authenticator"] == "empty"

    bootstrap()
    after = states(secrets_status(Recording(), RESOLVED))

    assert after == {**dict.fromkeys(GENERATED, "set"), "meta-crypto-key": "missing container",
                     "smtp-password": "needs value"}
    assert set(calls) == {"describe_secret", "list_secret_version_ids"}  # metadata only
    anon = next(s for s in secrets_status(client, RESOLVED) if s.name == name("anon-key"))
    assert anon.hint is not None and "expires about" in anon.hint and "secrets rotate FILE anon-key" in anon.hint


def test_no_secret_value_reaches_reports_output_or_logs(
    aws: AwsEnv, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    boto3.set_stream_logger("botocore", logging.DEBUG)  # the most verbose a user could make it
    try:
        create_containers()
        report = bootstrap()
        again = bootstrap()
        status = secrets_status(aws_client("secretsmanager", REGION), RESOLVED)
        print(report.render(), again.render(), *(s.render() for s in status), sep="\n")
    finally:
        logging.getLogger("botocore").handlers.clear()
        logging.getLogger("botocore").setLevel(logging.NOTSET)

    captured = capsys.readouterr()
    texts = {"report": repr(report) + repr(again) + repr(status), "stdout": captured.out,
             "stderr": captured.err, "logs": caplog.text}
    assert "DEBUG" in captured.err and "secretsmanager.PutSecretValue" in captured.err  # the wire log was on
    caplog.set_level(logging.WARNING)  # reading the values back below must not log them either
    values = [value(s) for s in GENERATED]
    for where, text in texts.items():
        leaked = [v[:6] + "…" for v in values if v in text]
        assert not leaked, f"secret values in {where}: {leaked}"


def test_aws_failures_are_clear_errors(aws: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    with pytest.raises(EngineError, match="no usable AWS credentials while looking up secret acme-dev/"):
        secrets_status(aws_client("secretsmanager", REGION), RESOLVED)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(EngineError, match="cannot reach AWS while looking up secret"):
        bootstrap_secrets(aws_client("secretsmanager", REGION, attempts=1), RESOLVED)


# --- generators -------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, 3, 32, 40, 64, 65])
def test_random_text_has_exactly_the_length(length: int) -> None:
    text = random_text(length)
    assert len(text) == length and set(text) <= URL_SAFE


def test_random_text_refuses_nonpositive_length() -> None:
    with pytest.raises(ValueError, match="positive"):
        random_text(0)


def test_sign_jwt_claims() -> None:
    token = sign_jwt("anon", "k" * 64, issued_at=100, lifetime_seconds=3600)
    claims = jwt.decode(token, "k" * 64, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {"role": "anon", "iss": "supabase", "iat": 100, "exp": 100 + 3600}


def test_status_command_exits_1_while_something_needs_the_user_and_hints_once(
    aws: AwsEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = str(example("dev"))
    assert main(["secrets", "status", dev]) == 1  # no container yet
    captured = capsys.readouterr()
    assert captured.out.count("missing container") == len(RESOLVED.secrets)
    assert captured.out.count("run apply of the data stack first") == 1
    assert f"{len(RESOLVED.secrets)} of {len(RESOLVED.secrets)} secret(s) need attention" in captured.err

    create_containers()
    bootstrap()
    assert main(["secrets", "status", "--format", "json", dev]) == 1  # the SMTP password is still yours to set
    pending = [s for s in json.loads(capsys.readouterr().out)["secrets"] if s["state"] != "set"]
    assert [(s["name"], s["state"]) for s in pending] == [(name("smtp-password"), "needs value")]

    raw().put_secret_value(SecretId=name("smtp-password"), SecretString="from the operator")
    assert main(["secrets", "status", dev]) == 0
    assert "need attention" not in capsys.readouterr().err
