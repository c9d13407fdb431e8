"""Real Terraform against moto: the tools, the emulator process and the files that aim one at the other.

Our stacks pin hashicorp/aws 6.x for real AWS; here only the 5.100.0 provider from a local
filesystem mirror exists. The harness alone bridges that: a CLI config that installs from the
mirror, and an ``*_override.tf.json`` beside each stack that pins 5.100.0 and points the provider,
the S3 backend and the remote-state readers at moto. Nothing the engine synthesizes changes.
Resources moto does not implement are switched off in the same override file (``EMULATOR_GAPS``),
and attributes moto does not round-trip are ignored on update (``EMULATOR_DRIFT``).

Missing tools skip the tests with the reason; with ``SUPA_ENGINE_REQUIRE_TOOLS=1`` (set by
``.ci/run``) they fail instead, so CI never passes by skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.deploy.terraform import Result, SubprocessRunner
from tests.support import ROOT
from tests.tools import tool_missing

PROVIDER_VERSION = "5.100.0"
MIRROR = Path(os.environ.get("SUPA_ENGINE_TF_MIRROR", "/opt/tf-plugins"))
OVERRIDE_FILE = "emulator_override.tf.json"
TERRAFORM_VARIABLES = ("TF_CLI_CONFIG_FILE", "TF_PLUGIN_CACHE_DIR")  # what terraform_env adds
# Providers the mirror lacks: stacks needing them cannot even be initialised here.
AVAILABLE_PROVIDERS = frozenset({"aws"})

# Resource types moto 5.2.5 answers with 404: EKS access entries, their policy associations and
# add-ons. The override sets count = 0 on them; only depends_on points at them.
EMULATOR_GAPS = ("aws_eks_access_entry", "aws_eks_access_policy_association", "aws_eks_addon")
# Attributes moto 5.2.5 does not store or reports differently from AWS, so that a second plan
# would show them changed although Terraform set them as configured. The override adds them to
# lifecycle.ignore_changes; every one was seen in a second plan, with the reason beside it.
EMULATOR_DRIFT: dict[str, tuple[str, ...]] = {
    "aws_kms_key": ("rotation_period_in_days",),  # RotationPeriodInDays is dropped: 0 -> 365
    "aws_eks_cluster": ("access_config",),  # accessConfig is dropped: replacement every plan
    # moto invents remote access with key "eksKeypair", drops updateConfig at creation, and has
    # no DescribeUpdate (404), so an update of the group never completes
    "aws_eks_node_group": ("remote_access", "update_config"),
    # moto copies the template's own tags into its launch data, and EKS clusters have no
    # cluster security group (the reference is empty)
    "aws_launch_template": ("tag_specifications", "vpc_security_group_ids"),
    # the description of a rule that references another security group is dropped
    "aws_vpc_security_group_ingress_rule": ("description",),
    "aws_vpc_security_group_egress_rule": ("description",),
    # no Performance Insights in moto's RDS
    "aws_db_instance": ("performance_insights_enabled", "performance_insights_kms_key_id"),
    "aws_db_parameter_group": ("parameter",),  # parameters come back without Source = user
    # the fixed address per subnet of an interface endpoint is not stored (no subnet configuration)
    "aws_vpc_endpoint": ("subnet_configuration",),
}


def provider_binary() -> Path | None:
    folder = MIRROR / "registry.terraform.io" / "hashicorp" / "aws" / PROVIDER_VERSION / "linux_amd64"
    return next(iter(sorted(folder.glob("terraform-provider-aws_v*"))), None) if folder.is_dir() else None


def find_tools() -> str:
    """The terraform binary, after checking the mirror holds the provider; skips or fails otherwise."""
    terraform = shutil.which("terraform")
    if terraform is None:
        tool_missing("terraform is not on PATH")
    if provider_binary() is None:
        tool_missing(f"no hashicorp/aws {PROVIDER_VERSION} in the provider mirror {MIRROR} (SUPA_ENGINE_TF_MIRROR)")
    assert terraform is not None
    return terraform


def write_cli_config(path: Path) -> Path:
    """A terraformrc that installs hashicorp/aws from the mirror only and never downloads it."""
    aws = "registry.terraform.io/hashicorp/aws"
    path.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{MIRROR}"\n    include = ["{aws}"]\n  }}\n'
        f'  direct {{\n    exclude = ["{aws}"]\n  }}\n'
        "}\n"
    )
    return path


def stack_providers(stack_dir: Path) -> set[str]:
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    return set(config.get("terraform", {}).get("required_providers", {}))


# --- the override file -------------------------------------------------------------------------------

_SKIPS = {"skip_credentials_validation": True, "skip_region_validation": True, "skip_metadata_api_check": True}


def _backend_to_emulator(backend: Mapping[str, Any], endpoint: str) -> dict[str, Any]:
    """The S3 backend settings (whole: an override replaces the backend block), aimed at moto."""
    return {**backend, **_SKIPS, "use_path_style": True, "skip_requesting_account_id": True,
            "endpoints": {"s3": endpoint, "sts": endpoint, "iam": endpoint, "dynamodb": endpoint}}


def override(config: Mapping[str, Any], endpoint: str | None) -> dict[str, Any]:
    """The override for one synthesized stack; ``endpoint`` None pins the provider only (validate)."""
    pinned = {"source": "hashicorp/aws", "version": PROVIDER_VERSION}
    terraform: dict[str, Any] = {"required_providers": {"aws": pinned}}
    result: dict[str, Any] = {"terraform": terraform}
    if endpoint is None:
        return result
    backend = config.get("terraform", {}).get("backend", {}).get("s3")
    if backend is not None:
        terraform["backend"] = {"s3": _backend_to_emulator(backend, endpoint)}
    # Arguments merge one by one into the provider block; default_tags and region stay as synthesized.
    result["provider"] = {"aws": [{**_SKIPS, "s3_use_path_style": True}]}
    data: dict[str, Any] = {}
    for name, block in config.get("data", {}).get("terraform_remote_state", {}).items():
        data.setdefault("terraform_remote_state", {})[name] = {
            "config": _backend_to_emulator(block["config"], endpoint)}
    resources: dict[str, Any] = {}
    for kind in EMULATOR_GAPS:
        for name in config.get("resource", {}).get(kind, {}):
            resources.setdefault(kind, {})[name] = {"count": 0}
    for kind, attributes in EMULATOR_DRIFT.items():
        for name, block in config.get("resource", {}).get(kind, {}).items():
            # lifecycle merges argument by argument: ignore_changes replaces ours, so it carries ours too
            own = list(block.get("lifecycle", {}).get("ignore_changes", []))
            resources.setdefault(kind, {})[name] = {"lifecycle": {"ignore_changes": own + list(attributes)}}
    if data:
        result["data"] = data
    if resources:
        result["resource"] = resources
    return result


def write_override(stack_dir: Path, endpoint: str | None) -> None:
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    (stack_dir / OVERRIDE_FILE).write_text(json.dumps(override(config, endpoint), indent=2, sort_keys=True) + "\n")


# --- moto --------------------------------------------------------------------------------------------


def moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


@dataclass
class Moto:
    """moto's HTTP server in a child process (tests/deploy/emulator_moto.py: two S3 gaps and one RDS gap corrected),
    with AWS managed policies loaded: the roles attach several of them."""

    endpoint: str
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, log: Path) -> Moto:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "PYTHONPATH": str(ROOT)}
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.deploy.emulator_moto", "-H", "127.0.0.1", "-p", str(port)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        moto = cls(f"http://127.0.0.1:{port}", process)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{moto.endpoint}/moto-api/", timeout=2):
                    return moto
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    moto.stop()
                    raise RuntimeError(f"moto did not start; see {log}") from None
                time.sleep(0.2)

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def aws_environment(endpoint: str, region: str) -> dict[str, str]:
    """What boto3 (the engine) and Terraform read: moto's endpoint and dummy credentials only."""
    return {
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        "AWS_CONFIG_FILE": "/nonexistent/config", "AWS_EC2_METADATA_DISABLED": "true",
    }


# --- the runner hook -------------------------------------------------------------------------------------


@dataclass
class EmulatorRunner:
    """The engine's own SubprocessRunner, with the override dropped into each stack before ``init``.

    The engine re-synthesizes (and replaces the output directory) on every deploy command, so the
    override is written again on every ``init``. Stacks outside ``only``, and stacks whose
    providers are not in the mirror (workloads: helm, http), never reach Terraform: the harness
    answers for them as an empty stack (init and plan succeed, the plan has no changes) and
    records them in ``skipped``. ``after_apply`` runs after a stack's apply (what an operator
    does between stacks, such as giving the secrets only they have).
    """

    endpoint: str
    env: Mapping[str, str]
    only: frozenset[str] | None = None
    after_apply: Mapping[str, Callable[[], None]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # (stack, step, started, ended) on the monotonic clock: which Terraform runs were in flight together
    spans: list[tuple[str, str, float, float]] = field(default_factory=list)

    def __call__(self, argv: Sequence[str], cwd: Path, *, quiet: bool = False) -> Result:
        step = argv[1] if len(argv) > 1 else ""
        stack = cwd.name
        if (cwd / "cdk.tf.json").is_file():
            if not stack_providers(cwd) <= AVAILABLE_PROVIDERS or (self.only is not None and stack not in self.only):
                if stack not in self.skipped:
                    self.skipped.append(stack)
                return Result(0, json.dumps({"resource_changes": []}) if step == "show" else "", "")
            if step == "init":
                write_override(cwd, self.endpoint)
        started = time.monotonic()
        result = SubprocessRunner(output=self.log.append, env=self.env)(argv, cwd, quiet=quiet)
        self.spans.append((stack, step, started, time.monotonic()))
        if step == "apply" and result.returncode == 0 and stack in self.after_apply:
            self.after_apply[stack]()
        return result

    @property
    def timings(self) -> list[tuple[str, str, float]]:
        """(stack, step, seconds) of every Terraform run, in the order they ended."""
        return [(stack, step, ended - started) for stack, step, started, ended in self.spans]

    def seconds(self, stack: str) -> float:
        return sum(t for s, _, t in self.timings if s == stack)


def terraform(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run terraform directly (validate, state list) and fail the test with its output on an error."""
    done = subprocess.run(list(argv), cwd=cwd, env={**env, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"},
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(argv)} in {cwd} exited {done.returncode}:\n{done.stdout}\n{done.stderr}", pytrace=False)
    return done


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The process environment for Terraform: the mirror-only CLI config and a shared plugin cache."""
    find_tools()
    home = tmp_path_factory.mktemp("terraform")
    cache = home / "plugin-cache"
    cache.mkdir()
    yield {**os.environ, "TF_CLI_CONFIG_FILE": str(write_cli_config(home / "terraformrc")),
           "TF_PLUGIN_CACHE_DIR": str(cache)}
