"""The core install: the light commands run without the deploy extra, and the others name it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import DEPLOY_MODULES
from tests.support import ROOT, example

# Runs the CLI with every module of the deploy extra made unimportable, as in `pip install supa-engine`.
WITHOUT_DEPLOY = """
import sys
for name in {modules!r}:
    sys.modules[name] = None
from engine.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _core(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_DEPLOY.format(modules=sorted(DEPLOY_MODULES)), *args],
                          capture_output=True, text=True, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          check=False)


@pytest.mark.parametrize("args", [
    ["validate", "supabase.yaml", "environments/dev.yaml", "environments/prod.yaml"],
    ["validate", "supabase.yaml", "environments"],  # the pre-commit hook's arguments
    ["show", "environments/prod.yaml"],
    ["graph", "environments/prod.yaml"],
    ["diagram", "environments/dev.yaml"],
    ["schema", "--check"],
])
def test_light_commands_run_without_the_deploy_extra(args: list[str]) -> None:
    result = _core(*args)
    assert result.returncode == 0, result.stderr


def test_init_then_validate_without_the_deploy_extra(tmp_path: Path) -> None:
    assert _core("init", str(tmp_path / "demo")).returncode == 0
    result = _core("validate", str(tmp_path / "demo" / "environments" / "dev.yaml"))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("command", ["synth", "check", "plan"])
def test_deploy_commands_name_the_extra_to_install(tmp_path: Path, command: str) -> None:
    args = [command, "--out", str(tmp_path), str(example("dev"))] + (["--dry-run"] if command == "plan" else [])
    result = _core(*args)
    assert result.returncode == 1
    assert "this command needs the deploy extra" in result.stderr
    assert "pip install 'supa-engine[deploy]'" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_a_missing_module_outside_the_extra_is_still_a_bug(tmp_path: Path) -> None:
    script = ("import sys; sys.modules['engine.build'] = None\nfrom engine.cli import main\n"
              "sys.exit(main(['synth', '--out', sys.argv[1], sys.argv[2]]))")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(example("dev"))], capture_output=True,
                            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert result.returncode == 3 and "internal error" in result.stderr


def test_validate_of_a_directory_covers_each_yaml_and_refuses_an_empty_one(tmp_path: Path) -> None:
    result = _core("validate", "supabase.yaml", "environments")
    assert [line.split()[1] for line in result.stdout.splitlines()] == [
        "supabase.yaml", "environments/dev.yaml", "environments/prod.yaml", "environments/staging.yaml"]
    empty = _core("validate", str(tmp_path))
    assert empty.returncode == 1 and "holds no .yaml files" in empty.stderr and "Traceback" not in empty.stderr
