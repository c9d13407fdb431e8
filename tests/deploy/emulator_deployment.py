"""One environment deployed through the engine's own `deploy` against moto, for the end-to-end tests.

Shared by test_emulator_deploy.py (apply, re-apply, destroy) and test_emulator_day_two.py
(PostgreSQL major upgrade, restore drills): the moto server, the isolated AWS environment,
and what the operator does between stacks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from engine.deploy.run import DeployOptions, DeployReport, deploy
from tests.deploy.emulator import TERRAFORM_VARIABLES, EmulatorRunner, Moto, aws_environment, moto_version
from tests.deploy.moto_server import isolate_from_real_aws


@pytest.fixture(scope="module")
def moto(terraform_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    server = Moto.start(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield server
    finally:
        server.stop()


class Deployment:
    """One environment deployed through the engine against moto; `only` names the stacks that run."""

    def __init__(self, config: Path, region: str, moto: Moto, env: dict[str, str], out: Path,
                 *, only: frozenset[str] | None = None) -> None:
        self.config, self.region, self.out = config, region, out
        self.runner = EmulatorRunner(moto.endpoint, env, only=only, after_apply={"data": self._operator_secrets})
        self.phases: dict[str, float] = {}

    def _operator_secrets(self) -> None:
        """What the operator gives between the data stack and the secrets bootstrap."""
        client = boto3.client("secretsmanager", region_name=self.region)
        for secret in client.list_secrets()["SecretList"]:
            if secret["Name"].endswith("/smtp-password"):
                client.put_secret_value(SecretId=secret["ARN"], SecretString="from the mail provider")

    def run(self, phase: str, action: str, config: Path | None = None, *,
            confirm: str | None = "prod") -> DeployReport:
        """`supa-engine <action> --yes [--confirm <confirm>] <config>`, timed as `phase`."""
        started = time.monotonic()
        try:
            options = DeployOptions(action=action, out=self.out, yes=True, confirm=confirm)  # type: ignore[arg-type]
            return deploy(config or self.config, options, ask=lambda _: True, progress=lambda _: None,
                          runner=self.runner)
        finally:
            self.phases[phase] = time.monotonic() - started

    def report(self, name: str, figures: dict[str, Any]) -> None:
        timings = {phase: round(seconds) for phase, seconds in self.phases.items()}
        stacks = {stack: round(self.runner.seconds(stack)) for stack in dict.fromkeys(
            s for s, step, _ in self.runner.timings if step != "version")}
        print(f"\n{name} (moto {moto_version()}): {figures}; wall seconds per phase {timings}, "
              f"Terraform seconds per stack over all phases {stacks}; skipped stacks {self.runner.skipped}")


def emulated_environment(moto: Moto, terraform_env: dict[str, str], region: str,
                         monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A reset moto, boto3 aimed at it only, and the environment Terraform runs with."""
    moto.reset()
    isolate_from_real_aws(monkeypatch)
    for name, value in aws_environment(moto.endpoint, region).items():
        monkeypatch.setenv(name, value)
    # Terraform gets the same isolated environment as boto3, plus the mirror-only CLI config.
    return {**os.environ, **{name: terraform_env[name] for name in TERRAFORM_VARIABLES}}


def statuses(report: DeployReport) -> dict[str, str]:
    assert report.run is not None
    return {outcome.stack: outcome.status for outcome in report.run.stacks}


def created(report: DeployReport) -> dict[str, int]:
    assert report.run is not None
    return {o.stack: o.summary.add for o in report.run.stacks if o.summary is not None and o.summary.add}


def changes(report: DeployReport) -> dict[str, list[str]]:
    assert report.run is not None
    return {o.stack: [f"{c.action} {c.address}" for c in o.summary.changes]
            for o in report.run.stacks if o.summary is not None and o.summary.has_changes}
