"""The synth pipeline end to end: output layout, determinism, atomicity and refusal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from engine import build, synth
from engine.checks import Finding
from engine.cli import main
from engine.render import render_manifests
from tests.support import ROOT, example

DEV = example("dev")
PROD = example("prod")


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_synth_writes_stacks_and_reports_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--out", str(tmp_path), "--format", "json", str(DEV), str(PROD)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [e["environment"] for e in report["environments"]] == ["dev", "prod"]
    prod = report["environments"][1]
    # data and cluster need only the network stack; between them, the order is by name.
    assert [s["name"] for s in prod["stacks"]] == ["network", "cluster", "data", "workloads"]
    assert [s["depends_on"] for s in prod["stacks"][1:3]] == [["network"], ["network"]]
    assert all(s["resources"] > 0 for s in prod["stacks"]) and prod["kubernetes_objects"] > 50
    files = _snapshot(tmp_path / "prod")
    assert {"terraform/manifest.json", "terraform/stacks/network/cdk.tf.json", "terraform/stacks/workloads/cdk.tf.json",
            "helm/values.yaml", "kubernetes/manifests.yaml", "charts/supabase/Chart.yaml"} <= set(files)
    assert not any(name.endswith("argocd-applications.yaml") for name in files)  # helm delivery


@pytest.mark.slow
def test_synth_is_byte_identical_across_runs(tmp_path: Path) -> None:
    synth.synth([PROD], tmp_path / "a")
    synth.synth([PROD], tmp_path / "b")
    assert _snapshot(tmp_path / "a" / "prod") == _snapshot(tmp_path / "b" / "prod")


@pytest.mark.slow
def test_failed_check_keeps_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    synth.synth([DEV], tmp_path)
    before = _snapshot(tmp_path / "dev")

    def one_violation(*_: object, **__: object) -> list[Finding]:
        return [Finding("S3_TLS_ONLY", "data/aws_s3_bucket.storage", "no TLS-only policy")]

    monkeypatch.setattr(build, "check_all", one_violation)
    # --no-cache: the inputs are unchanged, so without it the intact output would be reused.
    assert main(["synth", "--no-cache", "--out", str(tmp_path), str(DEV)]) == 1
    err = capsys.readouterr().err
    assert "S3_TLS_ONLY data/aws_s3_bucket.storage: no TLS-only policy" in err and "nothing was written" in err
    assert _snapshot(tmp_path / "dev") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev"]


@pytest.mark.slow
def test_argocd_delivery_writes_applications_and_no_workloads_stack(tmp_path: Path) -> None:
    argocd = tmp_path / "argocd.yaml"
    argocd.write_text(f"extends: {DEV}\ndelivery:\n  mode: argocd\n  argocd:\n"
                      "    repo_url: https://git.example.com/acme/platform.git\n    path: out/dev\n")
    (report,) = synth.synth([argocd], tmp_path / "out")
    assert [s.name for s in report.stacks] == ["network", "cluster", "data"]
    applications = (report.directory / "kubernetes" / "argocd-applications.yaml").read_text()
    assert "repoURL: https://git.example.com/acme/platform.git" in applications
    assert "path: out/dev/charts/supabase" in applications


def test_invalid_config_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {DEV}\ndatabase:\n  instance_class: m5.large\n")
    out = tmp_path / "out"
    assert main(["synth", "--out", str(out), str(bad)]) == 1
    assert "bad.yaml:3:3: database.instance_class" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_check_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(PROD)]) == 0
    assert "4 stacks and" in capsys.readouterr().out


@pytest.mark.slow
def test_output_does_not_depend_on_the_process(tmp_path: Path) -> None:
    """Two processes with different hash seeds (so any set or dict ordering by hash differs)."""
    for seed in ("1", "2"):
        subprocess.run([sys.executable, "-m", "engine", "synth", "--out", str(tmp_path / seed), str(PROD)],
                       check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed}, cwd=ROOT)
    assert _snapshot(tmp_path / "1" / "prod") == _snapshot(tmp_path / "2" / "prod")


_UNFILLED = ("placeholder", "changeme", "tf-ref", "todo", "fill in", "000000000000", "replace-me")


def _leaves(value: object, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}[{i}]")]
    return [(path, value)] if isinstance(value, str) else []


def test_argocd_output_renders_from_its_own_values_with_nothing_to_fill_in(tmp_path: Path) -> None:
    """Render the chart the way Argo CD does: from the Application's path, release name and value files."""
    argocd = tmp_path / "argocd.yaml"
    argocd.write_text(f"extends: {PROD}\ndelivery:\n  mode: argocd\n  argocd:\n"
                      "    repo_url: https://git.example.com/acme/platform.git\n    path: out/prod\n")
    (report,) = synth.synth([argocd], tmp_path / "out")
    out = report.directory
    documents = list(yaml.safe_load_all((out / "kubernetes" / "argocd-applications.yaml").read_text()))
    (app,) = [d for d in documents if d["spec"]["source"].get("path", "").endswith("charts/supabase")]
    source = app["spec"]["source"]
    chart = out / source["path"].removeprefix("out/prod/")
    values: dict[str, object] = {}
    for name in source["helm"]["valueFiles"]:
        values |= yaml.safe_load((chart / name).resolve().read_text())
    rendered = render_manifests(values, chart_dir=chart, namespace=app["spec"]["destination"]["namespace"],
                                kube_version="1.34")
    assert source["helm"]["releaseName"] == "supabase"
    assert "SkipDryRunOnMissingResource=true" in app["spec"]["syncPolicy"]["syncOptions"]
    # Every string a user would commit or the cluster would receive, except the ConfigMaps' file
    # contents (kong's template names its own runtime ${...} substitutions "placeholders").
    checked = _leaves(values) + _leaves(documents)
    for obj in rendered:
        checked += _leaves({k: v for k, v in obj.items() if not (obj["kind"] == "ConfigMap" and k == "data")})
    for path, text in checked:
        assert not any(word in text.lower() for word in _UNFILLED), (path, text)
    for stack in (out / "terraform" / "stacks").iterdir():
        assert "placeholder" not in (stack / "cdk.tf.json").read_text()
    endpoint = [o for o in rendered if o["kind"] == "ExternalSecret" and o["metadata"]["name"] == "database-endpoint"]
    database = values["database"]
    assert isinstance(database, dict) and database["hostParameter"].endswith("/infra/database-host")
    assert endpoint[0]["spec"]["data"][0]["remoteRef"]["key"] == database["hostParameter"]
