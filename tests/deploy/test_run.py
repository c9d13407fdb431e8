"""`supa-engine plan/apply/destroy` end to end: real synthesis, moto's HTTP server for AWS, and
the stand-in terraform (tests/deploy/stand_in/terraform, NOT Terraform) for the stacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest

from engine.cli import main
from tests.deploy.moto_server import AwsEnv
from tests.deploy.stand_in_terraform import STAND_IN, StandIn
from tests.support import ROOT, example, resolved_env

DEV = example("dev")
PROD = example("prod")
RESOLVED = resolved_env("dev")
REGION = RESOLVED.config.project.region


def _containers(*, smtp_password: bool = True) -> None:
    """What the data stack creates (empty secret containers), and the one value only the user has."""
    client = boto3.client("secretsmanager", region_name=REGION)
    for secret in RESOLVED.secrets:
        client.create_secret(Name=RESOLVED.secret_name(secret))
    if smtp_password:
        client.put_secret_value(SecretId="acme-dev/smtp-password", SecretString="from the mail provider")


def _run(tmp_path: Path, *args: str, config: Path = DEV) -> int:
    return main([*args, "--out", str(tmp_path / "out"), "--terraform-bin", str(STAND_IN), str(config)])


def _bucket_exists() -> bool:
    names = [b["Name"] for b in boto3.client("s3", region_name=REGION).list_buckets()["Buckets"]]
    return RESOLVED.state.bucket in names


def test_apply_bootstraps_state_and_secrets_and_applies_in_order_with_stand_in_terraform(
    tmp_path: Path, aws: AwsEnv, stand_in: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    _containers()
    assert _run(tmp_path, "apply", "--yes", "--format", "json") == 0
    captured = capsys.readouterr()
    report: dict[str, Any] = json.loads(captured.out)
    stacks = [s["name"] for s in report["stacks"]]
    assert stacks == ["network", "cluster", "data", "workloads"]  # one level, data and cluster, by name
    assert {s["status"] for s in report["stacks"]} == {"applied"}
    assert report["terraform_version"] == "1.10.5"  # what the stand-in reports by default
    assert report["backend"]["state"] == "created" and _bucket_exists()
    states = {s["name"]: s["state"] for s in report["secrets"]}
    assert states["acme-dev/jwt-secret"] == "generated"
    assert states["acme-dev/smtp-password"] == "set"
    # the applies ran level after level (cluster and data together), each of its own saved plan
    applied = [stack for stack, command in stand_in.commands() if command == "apply"]
    assert applied[0] == "network" and sorted(applied[1:3]) == ["cluster", "data"] and applied[3] == "workloads"
    # the anon key is signed with the generated JWT secret
    client = boto3.client("secretsmanager", region_name=REGION)
    key = client.get_secret_value(SecretId="acme-dev/jwt-secret")["SecretString"]
    anon = client.get_secret_value(SecretId="acme-dev/anon-key")["SecretString"]
    assert jwt.decode(anon, key, algorithms=["HS256"])["role"] == "anon"
    assert key not in captured.out + captured.err


def test_second_apply_changes_no_secret_with_stand_in_terraform(
    tmp_path: Path, aws: AwsEnv, stand_in: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    _containers()
    assert _run(tmp_path, "apply", "--yes") == 0
    capsys.readouterr()
    assert _run(tmp_path, "apply", "--yes", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert {s["state"] for s in report["secrets"]} == {"set"}
    assert main(["secrets", "status", str(DEV)]) == 0
    out = capsys.readouterr().out
    assert "set               acme-dev/jwt-secret" in out and "generated" not in out


def test_a_secret_only_the_user_has_stops_apply_after_the_data_stack_with_stand_in_terraform(
    tmp_path: Path, aws: AwsEnv, stand_in: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    _containers(smtp_password=False)
    assert _run(tmp_path, "apply", "--yes") == 1
    err = capsys.readouterr().err
    assert "need a value only you can give: acme-dev/smtp-password" in err
    assert "put-secret-value --secret-id acme-dev/smtp-password" in err
    # cluster shares data's level, so it was applied beside it; nothing after that level ran
    applied = [stack for stack, command in stand_in.commands() if command == "apply"]
    assert applied[0] == "network" and sorted(applied[1:]) == ["cluster", "data"]


def test_dry_run_touches_nothing(tmp_path: Path, aws: AwsEnv, stand_in: StandIn,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, "apply", "--dry-run") == 0
    out = capsys.readouterr().out
    assert ("apply: 4 stack(s) in 3 level(s): level 1: network; level 2: cluster, data (in parallel); "
            "level 3: workloads") in out
    assert out.index("\nlevel 1: network\n") < out.index("\nlevel 2: cluster, data") < out.index("  data  (in ")
    assert out.index("  data  (in ") < out.index("\nlevel 3: workloads\n") < out.index("  workloads  (in ")
    assert _run(tmp_path, "destroy", "--dry-run", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] and report["stacks"] is None and report["terraform_version"] is None
    assert [s["name"] for s in report["plan"]["stacks"]] == ["workloads", "cluster", "data", "network"]
    assert stand_in.calls() == [] and not _bucket_exists()


def test_plan_without_state_bucket_creates_nothing_and_says_every_stack_waits_with_stand_in_terraform(
    tmp_path: Path, aws: AwsEnv, stand_in: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, "plan", "--format", "json") == 0  # no --yes: plan asks nothing
    report = json.loads(capsys.readouterr().out)
    assert not _bucket_exists() and report["backend"]["state"] == "would create"
    assert {s["status"] for s in report["stacks"]} == {"waiting"}
    assert {tuple(s["waits_for"]) for s in report["stacks"]} == {("the state bucket",)}
    assert stand_in.commands() == []
    assert _run(tmp_path, "plan", "--detailed-exitcode") == 2
    assert "does not exist: apply creates it" in capsys.readouterr().err


def test_plan_reports_state_bucket_drift_without_fixing_it_with_stand_in_terraform(
    tmp_path: Path, aws: AwsEnv, stand_in: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=RESOLVED.state.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    assert _run(tmp_path, "plan") == 0
    err = capsys.readouterr().err
    assert "apply would fix: versioning enabled" in err
    assert client.get_bucket_versioning(Bucket=RESOLVED.state.bucket).get("Status") is None


def test_plan_counts_per_stack_streams_with_stack_prefix_and_detailed_exitcode_with_stand_in_terraform(
    tmp_path: Path, aws: AwsEnv, stand_in: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=RESOLVED.state.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    stand_in.set(changes=json.dumps({"network": [["create"], ["update"], ["delete", "create"]],
                                     "workloads": [["no-op"]]}),
                 no_state="cluster,workloads")
    assert _run(tmp_path, "plan", "--format", "json", "--detailed-exitcode") == 2
    captured = capsys.readouterr()
    stacks = {s["name"]: s for s in json.loads(captured.out)["stacks"]}
    assert (stacks["network"]["add"], stacks["network"]["change"], stacks["network"]["destroy"]) == (2, 1, 1)
    assert stacks["data"]["status"] == "planned" and stacks["data"]["add"] == 1
    assert stacks["cluster"]["status"] == "waiting" and stacks["cluster"]["waits_for"] == ["network"]
    assert stacks["workloads"]["status"] == "waiting" and stacks["workloads"]["add"] is None
    assert "[network] Plan: (stand-in)" in captured.err  # Terraform's own output, streamed, by stack
    assert "WARNING: aws_thing.network_2 will be DESTROYED and created again" in captured.err
    assert not list((tmp_path / "out").rglob("*.tfplan"))  # saved plans hold values in clear text

    data = tmp_path / "out" / "dev" / "terraform" / "stacks" / "data"
    (data / ".terraform.lock.hcl").write_text("# the reviewed provider checksums\n")
    (data / ".terraform").mkdir()
    stand_in.set(changes=json.dumps({s: [["no-op"]] for s in stacks}), no_state="")
    assert _run(tmp_path, "plan", "--detailed-exitcode") == 0
    assert "network    planned  (no changes)" in capsys.readouterr().out
    assert (data / ".terraform").is_dir()  # the output was reused, so its backend settings still hold
    assert _run(tmp_path, "plan", "--no-cache") == 0
    # synthesized afresh, but the lock file users commit survives; .terraform/ follows the new backend
    assert (data / ".terraform.lock.hcl").read_text() == "# the reviewed provider checksums\n"
    assert not (data / ".terraform").exists()


def test_production_destroy_needs_its_name_before_synthesis_with_stand_in_terraform(
    tmp_path: Path, aws: AwsEnv, stand_in: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, "destroy", "--yes", config=PROD) == 1
    assert "pass --confirm prod" in capsys.readouterr().err
    assert stand_in.calls() == [] and not (tmp_path / "out").exists()
    assert _run(tmp_path, "destroy", "--yes", "--confirm", "prod", config=PROD) == 0
    destroyed = [stack for stack, command in stand_in.commands() if command == "apply"]
    assert destroyed[0] == "workloads" and sorted(destroyed[1:3]) == ["cluster", "data"] and destroyed[3] == "network"


def test_credentials_of_another_account_are_refused(
    tmp_path: Path, aws: AwsEnv, stand_in: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(f"extends: {DEV}\nproject:\n  account_id: '210987654321'\nsecurity:\n  certificate_arn: "
                     "arn:aws:acm:eu-west-1:210987654321:certificate/0f2b6c1e-2a6d-4b8a-9d3e-5c7f1a2b3c4d\n"
                     "cluster:\n  admin_principals: ['arn:aws:iam::210987654321:role/platform-admins']\n")
    assert _run(tmp_path, "apply", "--yes", config=other) == 1
    assert "belong to account 123456789012, but this config deploys to 210987654321" in capsys.readouterr().err
    assert stand_in.calls() == [] and not _bucket_exists() and not (tmp_path / "out").exists()


def test_old_terraform_is_refused_before_synthesis_with_stand_in_terraform(
    tmp_path: Path, aws: AwsEnv, stand_in: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    stand_in.set(version="1.9.8")
    assert _run(tmp_path, "plan") == 1
    assert "version 1.9.8; the engine needs 1.10 or newer" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_no_terminal_and_no_yes_asks_for_yes(tmp_path: Path, aws: AwsEnv, stand_in: StandIn,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, "apply") == 1
    assert "pass --yes to run unattended" in capsys.readouterr().err
    assert not _bucket_exists()


def test_missing_terraform_fails_before_synthesis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["apply", "--yes", "--out", str(tmp_path / "out"), str(DEV)]) == 1
    assert "terraform" in capsys.readouterr().err.lower()
    assert not (tmp_path / "out").exists()


def test_deploy_module_loads_without_cdk_terrain_so_refusals_are_cheap() -> None:
    # CDK Terrain starts a Node.js runtime on import (seconds); only synthesis may pay for it.
    probe = "import sys, engine.deploy.run; print(sorted(m for m in sys.modules if m.startswith('cdktn')))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"
