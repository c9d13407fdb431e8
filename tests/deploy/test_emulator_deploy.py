"""apply, apply again, destroy: the engine's own deploy path with real Terraform against moto.

Everything runs as `supa-engine apply` would (engine.deploy.run.deploy: synthesis, the state
bucket bootstrap with the S3 backend and its lockfile, the secrets bootstrap after the data
stack), with tests/deploy/emulator.py in between only to aim Terraform at moto. A second apply
must find nothing to change; destroy must leave only what is protected by design.

Where the run stops: the cluster stack applies without EKS access entries and add-ons (moto
does not implement them); the workloads stack needs the helm and http providers, which the
mirror lacks, so it never runs here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from engine.config import load_config
from engine.deploy.backend import ensure_state_bucket
from engine.deploy.stacks import StackFailed
from engine.resolve import resolve
from tests.deploy.emulator import Moto, terraform_env
from tests.deploy.emulator_deployment import Deployment, changes, created, emulated_environment, moto, statuses
from tests.support import ROOT

__all__ = ["moto", "terraform_env"]
DEV, PROD = ROOT / "environments" / "dev.yaml", ROOT / "environments" / "prod.yaml"


def _empty_bucket(bucket: str, region: str) -> None:
    """What the operator does before destroying a log bucket: delete every object version."""
    s3 = boto3.client("s3", region_name=region)
    listing = s3.list_object_versions(Bucket=bucket)
    doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
              for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])]
    if doomed:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed})


def remaining(region: str) -> dict[str, Any]:
    """What is left in moto that a destroy could have removed: the inventory checked after destroy."""
    session = boto3.session.Session(region_name=region)
    ec2, rds, kms = session.client("ec2"), session.client("rds"), session.client("kms")
    secrets = session.client("secretsmanager")
    return {
        "buckets": sorted(b["Name"] for b in session.client("s3").list_buckets()["Buckets"]),
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")],
        "db_instances": [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]],
        "db_snapshots": [s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots()["DBSnapshots"]],
        "eks_clusters": session.client("eks").list_clusters()["clusters"],
        "kms_keys_enabled": [k["KeyId"] for k in kms.list_keys()["Keys"]
                             if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
                             and kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyManager"] == "CUSTOMER"],
        "secrets": sorted(s["Name"] for s in secrets.list_secrets()["SecretList"]),
        "roles": sorted(r["RoleName"] for r in session.client("iam").list_roles()["Roles"]
                        if not r["Path"].startswith("/aws-service-role/")),
    }


def _overlap(spans: list[tuple[str, str, float, float]], step: str, a: str, b: str) -> bool:
    """Whether Terraform's `step` of stack `a` and of stack `b` ran at the same time (first run of each)."""
    (a_start, a_end), (b_start, b_end) = (
        next((start, end) for stack, name, start, end in spans if stack == which and name == step) for which in (a, b))
    return a_start < b_end and b_start < a_end


@pytest.mark.slow
def test_first_plan_of_a_fresh_environment_changes_nothing_and_says_what_waits_against_moto(
    moto: Moto, terraform_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulated_environment(moto, terraform_env, "eu-west-1", monkeypatch)
    dev = Deployment(DEV, "eu-west-1", moto, env, tmp_path / "out")

    blank = dev.run("plan (no state bucket)", "plan")
    assert blank.backend is not None and blank.backend.state == "would create"
    assert set(statuses(blank).values()) == {"waiting"} and remaining("eu-west-1")["buckets"] == []
    # Terraform only told its version: with no state there is nothing to plan against
    assert {step for _, step, _ in dev.runner.timings} == {"version"}

    state = resolve(load_config(DEV).config).state
    ensure_state_bucket(boto3.client("s3", region_name=state.region), state, create=True)
    fresh = dev.run("plan (empty state)", "plan")
    assert fresh.run is not None and fresh.run.has_changes
    outcomes = {o.stack: o for o in fresh.run.stacks}
    assert outcomes["network"].status == "planned" and created(fresh)["network"] > 0
    # every stack that reads another stack's outputs waits for it, with real Terraform's error
    waiting = {name: o.waits_for for name, o in outcomes.items() if o.status == "waiting"}
    assert waiting and "network" not in waiting and all(waits for waits in waiting.values())
    assert remaining("eu-west-1")["vpcs"] == []  # plan created nothing
    assert not list((tmp_path / "out").rglob("*.tfplan"))
    dev.report("dev first plan", {"planned": created(fresh), "waiting": waiting})


@pytest.mark.slow
def test_dev_applies_then_reapplies_without_changes_then_destroys_against_moto(
    moto: Moto, terraform_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulated_environment(moto, terraform_env, "eu-west-1", monkeypatch)
    dev = Deployment(DEV, "eu-west-1", moto, env, tmp_path / "out")

    first = dev.run("apply", "apply")
    assert statuses(first) == {"network": "applied", "data": "applied", "cluster": "applied",
                                "workloads": "no changes"}
    assert dev.runner.skipped == ["workloads"]
    assert first.backend is not None and first.backend.state == "created"
    assert first.secrets is not None and {s.state for s in first.secrets.secrets} <= {"generated", "set"}
    made = created(first)
    assert set(made) == {"network", "data", "cluster"}
    # data and cluster read only network: their plans and their applies were in flight together
    for step in ("plan", "apply"):
        assert _overlap(dev.runner.spans, step, "data", "cluster"), f"data and cluster {step} ran one after another"
        assert not _overlap(dev.runner.spans, step, "network", "data")

    second = dev.run("re-apply", "apply")
    assert changes(second) == {}, "a second apply must change nothing"
    assert set(statuses(second).values()) == {"no changes"}

    # Deletion protection is on by design (database.deletion_protection defaults to true; the
    # prod test shows destroy stopping there). The operator's way out: switch it off, apply, destroy.
    unprotected = tmp_path / "dev-unprotected.yaml"
    unprotected.write_text(f"extends: {DEV}\nproject:\n  environment: dev\ndatabase:\n  deletion_protection: false\n")
    lifted = dev.run("apply (protection off)", "apply", unprotected)
    assert changes(lifted) == {"data": ["update aws_db_instance.database"]}
    # The log bucket keeps the access logs S3 delivered (no force_destroy, by design): destroy
    # stops there until the operator has emptied it.
    with pytest.raises(StackFailed) as kept:
        dev.run("destroy (logs kept)", "destroy", unprotected)
    assert kept.value.stack == "data" and "BucketNotEmpty" in str(kept.value)
    _empty_bucket("acme-dev-logs-eu-west-1", "eu-west-1")
    gone = dev.run("destroy", "destroy", unprotected)
    assert set(statuses(gone).values()) <= {"applied", "no changes"}
    left = remaining("eu-west-1")
    # Left by design: the state bucket (the engine's bootstrap, outside Terraform) and the final
    # database snapshot; KMS keys are pending deletion, secrets scheduled for deletion.
    assert left["buckets"] == ["acme-dev-tfstate-eu-west-1"] and "acme-dev-final" in left["db_snapshots"]
    assert left["vpcs"] == left["db_instances"] == left["eks_clusters"] == left["kms_keys_enabled"] == []
    dev.report("dev", {"created": made, "second apply changes": 0, "left": left})


@pytest.mark.slow
def test_prod_network_and_data_apply_then_reapply_without_changes_then_destroy_against_moto(
    moto: Moto, terraform_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulated_environment(moto, terraform_env, "eu-west-1", monkeypatch)
    prod = Deployment(PROD, "eu-west-1", moto, env, tmp_path / "out", only=frozenset({"network", "data"}))

    first = prod.run("apply", "apply")
    assert {s: v for s, v in statuses(first).items() if s in {"network", "data"}} == {
        "network": "applied", "data": "applied"}
    made = created(first)

    second = prod.run("re-apply", "apply")
    assert changes(second) == {}, "a second apply must change nothing"

    # Production requires deletion protection: destroy stops at the database, by design.
    with pytest.raises(StackFailed) as refused:
        prod.run("destroy", "destroy")
    assert refused.value.stack == "data" and "protection" in str(refused.value).lower()
    left = remaining("eu-west-1")
    assert left["db_instances"] == ["acme-prod"]
    prod.report("prod", {"created": made, "second apply changes": 0, "left": left})
