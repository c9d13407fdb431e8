"""The CLI end to end: exit codes, output formats, and the commands of the config layer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from engine import cli
from engine.cli import main
from tests.support import ROOT, example

EXAMPLES = [ROOT / "supabase.yaml", *sorted((ROOT / "environments").glob("*.yaml"))]


def test_validate_examples_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert out.count("ok  ") == 4 and "acme-prod, production, eu-west-1" in out


def test_validate_json_mixes_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("project: [1\n")
    assert main(["validate", "--format", "json", str(EXAMPLES[0]), str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["valid"] for r in report["results"]] == [True, False]
    problem = report["results"][1]["problems"][0]
    assert problem["line"] == 2 and problem["file"].endswith("bad.yaml")


def test_show_origin_names_the_overlay(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["show", "--origin", "environments/prod.yaml"]) == 0
    out = capsys.readouterr().out
    assert "  tier: production  # environments/prod.yaml:7" in out
    assert "  environment: prod  # named after environments/prod.yaml" in out
    assert "  region: eu-west-1  # supabase.yaml:10" in out
    assert "  kms_rotation_days: 365  # supabase.yaml" in out
    assert "  zone_names: null  # default" in out


def test_show_prints_loadable_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(example("dev"))]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["network"]["nat"] == "single" and shown["project"]["environment"] == "dev"


def test_schema_write_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "schemas"
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: supabase\nversion: 0.1.0\n")
    where = ["--out", str(target), "--chart", str(chart)]
    assert main(["schema", "--check", *where]) == 1
    assert main(["schema", *where]) == 0
    assert (chart / "values.schema.json").is_file()
    assert main(["schema", "--check", *where]) == 0
    for stale in (target / "supabase.schema.json", chart / "values.schema.json"):
        good = stale.read_text()
        stale.write_text("{}")
        assert main(["schema", "--check", *where]) == 1
        assert "stale schema" in capsys.readouterr().err
        stale.write_text(good)
    assert main(["schema", "--out", str(target), "--chart", str(tmp_path / "no-chart")]) == 0
    assert not (tmp_path / "no-chart").exists()


def test_init_scaffolds_a_valid_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "platform"
    assert main(["init", str(target)]) == 0
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == [".gitignore", "environments/dev.yaml", "environments/prod.yaml", "environments/staging.yaml",
                     "schemas/environment.schema.json", "schemas/supabase.schema.json", "supabase.yaml"]
    assert main(["validate", *(str(target / f) for f in files if f.endswith(".yaml"))]) == 0
    capsys.readouterr()
    ignore = (target / ".gitignore").read_text()
    assert main(["init", str(target)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["init", "--force", str(target)]) == 0
    assert (target / ".gitignore").read_text() == ignore  # lines are added once, never twice


def test_init_gitignore_keeps_lock_files_and_ignores_plans_state_and_terraform_dirs(tmp_path: Path) -> None:
    target = tmp_path / "platform"
    target.mkdir()
    (target / ".gitignore").write_text("node_modules/")  # the user's lines stay, first
    assert main(["init", str(target)]) == 0
    assert (target / ".gitignore").read_text().startswith("node_modules/\n\n# supa-engine")
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    stack = "out/prod/terraform/stacks/data"
    paths = [f"{stack}/.terraform.lock.hcl", f"{stack}/cdk.tf.json", f"{stack}/.terraform/providers/x",
             f"{stack}/data.tfplan", f"{stack}/terraform.tfstate", "out/.prod.new-1a2b/x", "node_modules/x"]
    checked = subprocess.run(["git", "-C", str(target), "check-ignore", "--no-index", *paths],
                             check=True, capture_output=True, text=True)
    assert checked.stdout.split() == paths[2:]


def test_usage_error_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 1
    assert "Missing argument" in capsys.readouterr().err


def test_internal_error_exits_3_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("engine.config.load_config", broken)
    assert main(["validate", str(EXAMPLES[0])]) == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "Traceback" not in err
    assert main(["--debug", "validate", str(EXAMPLES[0])]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("engine.config.load_config", interrupted)
    assert main(["validate", str(EXAMPLES[0])]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_console_script_runs_as_a_process() -> None:
    result = subprocess.run([sys.executable, "-m", "engine", "validate", str(ROOT / "environments" / "nope.yaml")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "no such file" in result.stderr and "Traceback" not in result.stderr


def test_validate_imports_no_heavy_dependency() -> None:
    code = ("import sys; from engine.cli import main; main(['validate', %r]); "
            "heavy = [m for m in ('cdktn', 'boto3', 'jsii', 'checkov') if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code % str(EXAMPLES[-1])], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().endswith("[]")
    assert cli.EXIT_USER == 1


@pytest.mark.parametrize(("fmt", "marker"), [("table", "CLIENT"), ("mermaid", "flowchart LR"), ("dot", "digraph")])
def test_graph_formats(fmt: str, marker: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--format", fmt, str(example("prod"))]) == 0
    out = capsys.readouterr().out
    assert marker in out and "kong" in out and "8000" in out
