"""`plan`, `apply`, `destroy`, `secrets status` and `secrets rotate`: the deploy steps composed, in a safe order.

Each action synthesizes afresh (never a stale `out/`); the README's "Deploying" lists the order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import load_config
from engine.deploy.aws import aws_client, aws_errors
from engine.deploy.backend import BackendReport, ensure_state_bucket
from engine.deploy.database import PASSWORD_ENV_PREFIX, bootstrap_from_environment
from engine.deploy.levels import run_plan
from engine.deploy.plan import Action, DeployPlan, build_plan, guard_destroy, plan_as_dict
from engine.deploy.rotate import RotationReport, confirmation, plan_rotation, rotate
from engine.deploy.secrets import SecretsReport, SecretStatus, bootstrap_secrets, secrets_status
from engine.deploy.stacks import RunReport, StackOutcome, StackSummary, bucket_missing
from engine.deploy.terraform import Runner, SubprocessRunner, check_version, find_terraform, with_plugin_cache
from engine.deploy.verify import VerifyOptions, VerifyReport, verify
from engine.errors import EngineError
from engine.resolve import Resolved, resolve

SECRETS_AFTER = "data"  # the stack that creates the secret containers


@dataclass(frozen=True)
class DeployOptions:
    action: Action
    out: Path
    terraform_bin: str | None = None
    yes: bool = False
    dry_run: bool = False
    # The environment name: required to destroy production, upgrade its PostgreSQL major version
    # or replace its database with a restore.
    confirm: str | None = None
    verify: VerifyOptions | None = None  # apply only: run `supa-engine verify` after a successful apply
    cache: bool = True  # reuse an intact, up-to-date synthesized output (engine.cache)


@dataclass(frozen=True)
class DeployReport:
    environment: str
    plan: DeployPlan
    backend: BackendReport | None = None
    secrets: SecretsReport | None = None
    run: RunReport | None = None
    verify: VerifyReport | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "action": self.plan.action,
            "dry_run": self.run is None,
            # Which Terraform (or OpenTofu) ran, for CI logs; None on a dry run, which runs none.
            "terraform_version": None if self.run is None else self.run.terraform_version,
            "plan": plan_as_dict(self.plan),
            "backend": None if self.backend is None else {
                "bucket": self.backend.bucket, "state": self.backend.state, "changes": list(self.backend.changes)},
            "secrets": None if self.secrets is None else [
                {"name": s.name, "state": s.state} for s in self.secrets.secrets],
            "stacks": None if self.run is None else [o.as_dict() for o in self.run.stacks],
            **({} if self.verify is None else {"verify": self.verify.as_dict()}),
        }


def deploy(
    config: Path,
    options: DeployOptions,
    *,
    ask: Callable[[str], bool],
    progress: Callable[[str], None],
    runner: Runner | None = None,
) -> DeployReport:
    """Run `options.action` for one config; `ask` gets yes/no questions unless `options.yes`.

    Every refusal that needs no synthesis comes first (the production destroy guard, the
    Terraform binary and version, the AWS account), so a refusal costs a second, not a build.
    `plan` writes nothing in AWS: the state bucket is only looked at.
    """
    early = resolve(load_config(config).config)
    if options.action == "destroy":
        guard_destroy(early, options.confirm)
    version: str | None = None
    if options.dry_run:
        terraform = options.terraform_bin or "terraform"
    else:
        terraform = find_terraform(options.terraform_bin)
        check_account(early)
        if runner is None:
            runner = SubprocessRunner(output=progress, prefix=True, env=with_plugin_cache(os.environ))
        version = check_version(terraform, runner, Path.cwd())
    # Importing CDK Terrain starts its Node.js runtime (seconds): only once nothing refused.
    from engine.synth import synth_one  # noqa: PLC0415

    resolved, synthesized = synth_one(config, options.out, progress, cache=options.cache)
    plan = build_plan(options.action, synthesized.directory / "terraform" / "manifest.json", terraform)
    environment = resolved.config.project.environment
    if options.dry_run:
        return DeployReport(environment, plan)

    confirmed: Callable[[str], bool] = (lambda _: True) if options.yes else ask
    backend = _state_bucket(resolved, confirmed, progress, read_only=options.action == "plan")
    if backend.state == "would create":  # only `plan` gets here: there is no state to plan against
        return DeployReport(environment, plan, backend, None, bucket_missing(plan, version or "", progress))
    secrets: list[SecretsReport] = []
    if options.action == "apply":
        from engine.deploy.rds import prepare_database  # noqa: PLC0415  (imports CDK Terrain)

        prepare_database(resolved, aws_client("rds", resolved.config.project.region), options.confirm, progress)

    hook = threading.Lock()  # stacks finish in worker threads; the hook's AWS calls go one at a time

    def after_stack(outcome: StackOutcome) -> None:
        if options.action == "apply" and outcome.stack == SECRETS_AFTER:
            with hook:
                secrets.append(_bootstrap_secrets(resolved, progress))

    def confirm_level(summaries: tuple[StackSummary, ...]) -> bool:
        return confirmed(level_question(options.action, summaries))

    run = run_plan(plan, runner=runner, confirm=confirm_level, progress=progress, after_stack=after_stack,
                   version=version)
    checked = None
    if options.verify is not None and options.action == "apply" and not run.declined:
        checked = verify(resolved, options.verify, progress=progress)
    return DeployReport(environment, plan, backend, secrets[0] if secrets else None, run, checked)


def level_question(action: Action, summaries: tuple[StackSummary, ...]) -> str:
    """One question for a level: each stack with changes and its counts (the summaries came before)."""
    if len(summaries) == 1:
        return f"{action} stack {summaries[0].stack}: {summaries[0].headline()} - go ahead?"
    names = ", ".join(s.stack for s in summaries)
    lines = "".join(f"\n  {s.stack}: {s.headline()}" for s in summaries)
    return f"{action} stacks {names} at the same time:{lines}\ngo ahead?"


def status_of_config(config: Path) -> list[SecretStatus]:
    """`supa-engine secrets status FILE`: the environment's secrets and their states."""
    resolved = resolve(load_config(config).config)
    return secrets_status(aws_client("secretsmanager", resolved.config.project.region), resolved)


def rotate_of_config(config: Path, names: tuple[str, ...], *, dsn: str | None, dry_run: bool, yes: bool,
                     ask: Callable[[str], bool]) -> RotationReport:
    """`supa-engine secrets rotate FILE [NAME...]`: plan, confirm, then rotate (README: "Rotating secrets")."""
    resolved = resolve(load_config(config).config)
    rotations = plan_rotation(resolved, names)
    if dry_run:
        return RotationReport(rotations, dry_run=True)
    if dsn is None and any(r.role for r in rotations):
        raise EngineError("rotating database passwords needs the database: nothing changed",
                          "pass --dsn (as the master user; its password through PGPASSWORD), or name only "
                          "other secrets")
    if not (yes or ask(confirmation(resolved, rotations))):
        raise EngineError("rotation declined; nothing changed", "rerun and answer yes, or pass --yes")
    check_account(resolved)

    def set_passwords(passwords: Mapping[str, str]) -> None:
        # The bootstrap's own path: SCRAM verifiers made client-side, DSN without a password.
        assert dsn is not None
        bootstrap_from_environment(dsn, {PASSWORD_ENV_PREFIX + role.upper(): p for role, p in passwords.items()})

    return rotate(aws_client("secretsmanager", resolved.config.project.region), resolved, rotations,
                  set_passwords=set_passwords if dsn else None)


def check_account(resolved: Resolved) -> None:
    """Refuse credentials of another account than `project.account_id` before anything changes."""
    expected = resolved.config.project.account_id
    with aws_errors("checking which AWS account the credentials belong to"):
        actual = aws_client("sts", resolved.config.project.region).get_caller_identity()["Account"]
    if actual != expected:
        raise EngineError(f"the AWS credentials belong to account {actual}, but this config deploys to {expected}",
                          "switch AWS_PROFILE (or credentials) to the account in project.account_id")


def _state_bucket(resolved: Resolved, confirmed: Callable[[str], bool],
                  progress: Callable[[str], None], *, read_only: bool) -> BackendReport:
    s3 = aws_client("s3", resolved.state.region)
    report = ensure_state_bucket(s3, resolved.state, create=False, read_only=read_only)
    if report.state == "would create" and not read_only:
        if not confirmed(f"create the Terraform state bucket {report.bucket} in {report.region}?"):
            raise EngineError("the state bucket is needed and was not created", "rerun and answer yes, or pass --yes")
        report = ensure_state_bucket(s3, resolved.state, create=True)
    progress(report.render())
    return report


def _bootstrap_secrets(resolved: Resolved, progress: Callable[[str], None]) -> SecretsReport:
    report = bootstrap_secrets(aws_client("secretsmanager", resolved.config.project.region), resolved)
    progress("secrets:\n" + report.render())
    missing = report.with_state("missing container")
    if missing:
        raise EngineError(f"{len(missing)} secret container(s) are missing after the data stack was applied: "
                          f"{', '.join(s.name for s in missing)}", "check the data stack's plan output")
    # The workloads stack reads each secret's current version; pods cannot start without them.
    yours = report.with_state("needs value")
    if yours:
        raise EngineError(f"{len(yours)} secret(s) need a value only you can give: "
                          f"{', '.join(s.name for s in yours)}; the remaining stacks were not applied",
                          "; ".join(s.hint for s in yours if s.hint) + "; then run apply again")
    return report
