"""`apply --verify`: verify runs after a successful apply and is part of its report. Real
synthesis, moto for AWS, the stand-in terraform (NOT Terraform) and the Supabase test double."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import boto3
import pytest

from engine.cli import main
from engine.deploy.run import DeployOptions, deploy
from engine.deploy.verify import CHECK_NAMES, VerifyOptions
from tests.deploy.moto_server import AwsEnv
from tests.deploy.stand_in_terraform import STAND_IN, StandIn
from tests.deploy.supabase_double import make_pki, start_double
from tests.deploy.test_verify_double import DEV, REGION, RESOLVED

pytestmark = pytest.mark.slow


def _containers() -> tuple[str, str]:
    """The data stack's secret containers; the API keys already set, so apply keeps them."""
    keys = {"anon-key": f"anon.{secrets.token_urlsafe(20)}", "service-role-key": f"svc.{secrets.token_urlsafe(20)}",
            "smtp-password": "from the mail provider"}
    client = boto3.client("secretsmanager", region_name=REGION)
    for secret in RESOLVED.secrets:
        if secret.name in keys:
            client.create_secret(Name=RESOLVED.secret_name(secret), SecretString=keys[secret.name])
        else:
            client.create_secret(Name=RESOLVED.secret_name(secret))
    return keys["anon-key"], keys["service-role-key"]


@pytest.mark.parametrize("healthy", [True, False], ids=["double-healthy", "double-broken"])
def test_apply_verify_reports_the_checks_after_the_stacks_with_stand_in_terraform(
    tmp_path: Path, aws: AwsEnv, stand_in: StandIn, healthy: bool
) -> None:
    anon, service = _containers()
    double = start_double(make_pki(tmp_path), anon, service, faults={} if healthy else {"pg": "open"})
    try:
        checks = VerifyOptions(url=double.url, http_url=double.http_url, ca_bundle=str(double.pki.ca_file),
                               skip=("database-private",), timeout=30)
        lines: list[str] = []
        report = deploy(DEV, DeployOptions("apply", tmp_path / "out", str(STAND_IN), yes=True, verify=checks),
                        ask=lambda _: True, progress=lines.append)
    finally:
        double.stop()
    assert report.verify is not None and report.verify.ok is healthy
    as_json = report.as_dict()
    assert [s["status"] for s in as_json["stacks"]] == ["applied"] * 4
    assert as_json["verify"]["passed"] == len(CHECK_NAMES) - 1 - (0 if healthy else 1), report.verify.render()
    # the checks ran after the last stack was applied, and their lines went to the progress output
    assert lines.index(next(line for line in lines if "auth-health" in line)) > max(
        i for i, line in enumerate(lines) if "workloads" in line)
    assert anon not in json.dumps(as_json) and service not in "\n".join(lines)


def test_verify_is_an_option_of_apply_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--verify", "--dry-run", "--out", str(tmp_path), str(DEV)]) == 2  # a usage error
    assert "No such option '--verify'" in capsys.readouterr().err
