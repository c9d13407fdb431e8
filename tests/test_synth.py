"""The synth pipeline end to end: output layout, determinism, atomicity and refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import synth
from engine.checks.terraform import Finding
from engine.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "environments" / "dev.yaml"
PROD = ROOT / "environments" / "prod.yaml"


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_synth_writes_stacks_and_reports_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--out", str(tmp_path), "--format", "json", str(DEV), str(PROD)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [e["environment"] for e in report["environments"]] == ["dev", "prod"]
    prod = report["environments"][1]
    assert [s["name"] for s in prod["stacks"]] == ["network", "data", "cluster"]
    assert sorted(prod["stacks"][2]["depends_on"]) == ["data", "network"]
    assert all(s["resources"] > 0 for s in prod["stacks"])
    files = sorted(_snapshot(tmp_path / "prod"))
    assert files == ["terraform/manifest.json", "terraform/stacks/cluster/cdk.tf.json",
                     "terraform/stacks/data/cdk.tf.json", "terraform/stacks/network/cdk.tf.json"]


def test_synth_is_byte_identical_across_runs(tmp_path: Path) -> None:
    synth.synth([PROD], tmp_path / "a")
    synth.synth([PROD], tmp_path / "b")
    assert _snapshot(tmp_path / "a" / "prod") == _snapshot(tmp_path / "b" / "prod")


def test_failed_check_keeps_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    synth.synth([DEV], tmp_path)
    before = _snapshot(tmp_path / "dev")

    def one_violation(_: object) -> list[Finding]:
        return [Finding("S3_TLS_ONLY", "data", "aws_s3_bucket.storage", "no TLS-only policy")]

    monkeypatch.setattr(synth, "check_terraform", one_violation)
    assert main(["synth", "--out", str(tmp_path), str(DEV)]) == 1
    err = capsys.readouterr().err
    assert "S3_TLS_ONLY: data/aws_s3_bucket.storage" in err and "nothing was written" in err
    assert _snapshot(tmp_path / "dev") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev"]


def test_invalid_config_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {DEV}\ndatabase:\n  instance_class: m5.large\n")
    out = tmp_path / "out"
    assert main(["synth", "--out", str(out), str(bad)]) == 1
    assert "bad.yaml:3:3: database.instance_class" in capsys.readouterr().err
    assert not out.exists()


def test_check_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(PROD)]) == 0
    assert "3 stacks pass every invariant" in capsys.readouterr().out
