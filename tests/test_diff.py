"""`supa-engine diff`: golden output for dev against prod, and the three levels on small changes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from engine.cli import main
from engine.diff import diff, render_text
from tests.golden import assert_golden
from tests.support import ROOT


@pytest.fixture(scope="module")
def dev_prod() -> tuple[str, str]:
    """Text and JSON of `diff dev prod`, run from the repository root so origins are relative."""
    here = Path.cwd()
    try:
        import os

        os.chdir(ROOT)
        difference = diff("environments/dev.yaml", "environments/prod.yaml")
    finally:
        os.chdir(here)
    return render_text(difference), json.dumps(difference.as_dict(), indent=2) + "\n"


def test_dev_prod_text_is_golden(dev_prod: tuple[str, str]) -> None:
    assert_golden("diff-dev-prod.txt", dev_prod[0])


def test_dev_prod_json_is_golden(dev_prod: tuple[str, str]) -> None:
    assert_golden("diff-dev-prod.json", dev_prod[1])


def test_dev_prod_names_what_prod_has(dev_prod: tuple[str, str]) -> None:
    data = json.loads(dev_prod[1])
    config = {c["subject"]: c for c in data["config"]}
    assert config["database.multi_az"] == {"kind": "changed", "subject": "database.multi_az", "field": "",
                                           "a": False, "b": True, "a_origin": "default",
                                           "b_origin": "environments/prod.yaml:32"}
    aws = {(c["subject"], c["field"]): c for c in data["aws"]}
    assert aws["data/aws_db_instance.database", "multi_az"]["b"] is True
    assert aws["network/aws_nat_gateway.nat_2", ""]["kind"] == "only_b"
    kubernetes = {(c["subject"], c["field"]): c for c in data["kubernetes"]}
    assert kubernetes["PodDisruptionBudget/supabase/kong", ""]["kind"] == "only_b"
    # environment-derived names are placeholders, so the secret store is the same object on both sides
    assert not any(c["subject"].startswith("ClusterSecretStore/acme-") for c in data["kubernetes"])


def _config(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(f"extends: {ROOT / 'environments' / 'dev.yaml'}\n{body}")
    return path


def test_exit_code_means_they_differ(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _config(tmp_path, "a.yaml", "project:\n  environment: drill\n")
    b = _config(tmp_path, "b.yaml", "project:\n  environment: drill\ndatabase:\n  backup_retention_days: 5\n")
    assert main(["diff", str(a), str(a), "--exit-code"]) == 0
    assert "compile to the same platform" in capsys.readouterr().out
    assert main(["diff", str(a), str(b), "--exit-code", "--format", "json"]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["differ"] and "error" not in captured.err
    assert [c["subject"] for c in data["config"]] == ["database.backup_retention_days"]
    assert data["config"][0]["b_origin"].endswith("b.yaml:5")
    assert {(c["subject"], c["field"], c["a"], c["b"]) for c in data["aws"]} == {
        ("data/aws_db_instance.database", "backup_retention_period", 3, 5)}
    assert data["kubernetes"] == []
    assert main(["diff", str(a), str(b)]) == 0  # without --exit-code a difference is a success


def test_git_revision_of_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    (repo / "environments").mkdir(parents=True)
    (repo / "supabase.yaml").write_bytes((ROOT / "supabase.yaml").read_bytes())
    staging = repo / "environments" / "staging.yaml"
    staging.write_bytes((ROOT / "environments" / "staging.yaml").read_bytes())
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    staging.write_text(staging.read_text().replace("multi_az: true", "multi_az: false"))
    monkeypatch.chdir(repo)
    assert main(["diff", "HEAD:environments/staging.yaml", "environments/staging.yaml", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["a"] == "HEAD:environments/staging.yaml"
    (change,) = data["config"]
    assert (change["subject"], change["a"], change["b"]) == ("database.multi_az", True, False)
    assert change["a_origin"] == "HEAD:environments/staging.yaml:10"
    assert change["b_origin"] == "environments/staging.yaml:10"
    assert main(["diff", "nosuchrev:environments/staging.yaml", "environments/staging.yaml"]) == 1
    assert "not a valid object name: nosuchrev" in capsys.readouterr().err
