"""`terraform validate` with real Terraform and the real aws provider, for every stack it can load.

Stacks that need a provider the local mirror lacks (workloads: helm and http) cannot be
initialised here; the test names them rather than passing silently.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from engine.config import load_config
from engine.config.overlay import Merged
from engine.config.validate import validate
from engine.manifest import read_manifest
from engine.resolve import Resolved, resolve
from engine.targets.terraform.app import synthesize
from tests.deploy.emulator import AVAILABLE_PROVIDERS, stack_providers, terraform, terraform_env, write_override
from tests.strategies import configs
from tests.support import ROOT

__all__ = ["terraform_env"]
# Stacks whose providers are not all in the mirror, and so are checked only by the engine's own checks.
NOT_VALIDATED = {"workloads"}


def validate_stacks(resolved: Resolved, out: Path, env: dict[str, str]) -> set[str]:
    """Synthesize into `out`, validate every stack whose providers are available; the stacks left out."""
    synthesize(resolved, out)
    left_out = set()
    for entry in read_manifest(out / "manifest.json").values():
        stack_dir = out / entry.working_directory
        if not stack_providers(stack_dir) <= AVAILABLE_PROVIDERS:
            left_out.add(entry.name)
            continue
        write_override(stack_dir, None)
        terraform(["terraform", "init", "-backend=false", "-input=false", "-no-color"], stack_dir, env)
        done = terraform(["terraform", "validate", "-no-color", "-json"], stack_dir, env)
        assert '"valid": true' in done.stdout, f"{entry.name}: {done.stdout}"
    return left_out


@pytest.mark.slow
@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_available_stack_validates_with_real_terraform(
    environment: str, terraform_env: dict[str, str], tmp_path: Path
) -> None:
    resolved = resolve(load_config(ROOT / "environments" / f"{environment}.yaml").config)
    assert validate_stacks(resolved, tmp_path / "out", terraform_env) == NOT_VALIDATED


@pytest.mark.slow
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=configs())
def test_generated_configs_validate_with_real_terraform(terraform_env: dict[str, str], tree: dict[str, Any]) -> None:
    config = validate(Merged(entry="generated.yaml", files=("generated.yaml",), tree=tree, origins={}))
    with tempfile.TemporaryDirectory() as scratch:
        # Only helm delivery has the workloads stack use the helm provider; under Argo CD it is plain AWS.
        expected = NOT_VALIDATED if config.delivery.mode == "helm" else set()
        assert validate_stacks(resolve(config), Path(scratch) / "out", terraform_env) == expected
