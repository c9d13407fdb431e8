"""`supa-engine verify`: prove a deployed environment answers and is closed where it must be.

The public URL comes from the config, the API keys from Secrets Manager (never printed), the
database endpoint from the RDS API; each named check gets its own deadline and a one-line result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from engine.config import load_config
from engine.deploy import verify_checks as fn
from engine.deploy import verify_security as sec
from engine.deploy.aws import aws_client, aws_errors, error_code
from engine.deploy.secrets import read_secret
from engine.deploy.verify_checks import Context, DatabaseEndpoint
from engine.deploy.verify_http import CheckFailed, CheckSkipped, Deadline, Target
from engine.deploy.verify_storage import storage_objects
from engine.errors import EngineError
from engine.resolve import Resolved, resolve

Status = Literal["pass", "fail", "skip"]

#: Every check, in the order they run: name, what it proves.
CHECKS: tuple[tuple[str, Callable[[Context], str]], ...] = (
    ("auth-health", fn.auth_health),
    ("rest-root", fn.rest_root),
    ("storage-status", fn.storage_status),
    ("functions", fn.functions),
    ("rest-crud", fn.rest_crud),
    ("auth-users", fn.auth_users),
    ("storage-objects", storage_objects),
    ("realtime-broadcast", fn.realtime_broadcast),
    ("pg-closed", sec.pg_closed),
    ("auth-admin-closed", sec.auth_admin_closed),
    ("realtime-tenants-closed", sec.realtime_tenants_closed),
    ("studio-closed", sec.studio_closed),
    ("plain-http-closed", sec.plain_http_closed),
    ("tls-certificate", sec.tls_certificate),
    ("tls-legacy-refused", sec.tls_legacy_refused),
    ("database-private", sec.database_private),
)
CHECK_NAMES = tuple(name for name, _ in CHECKS)


@dataclass(frozen=True)
class VerifyOptions:
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    timeout: float = 60.0  # seconds per check, retries included
    ca_bundle: str | None = None  # PEM file of extra trusted CAs (private CAs, tests)
    url: str | None = None  # default https://<supabase.domain>
    http_url: str | None = None  # default http://<host of url>


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    seconds: float

    def render(self) -> str:
        return f"{self.status.upper():<4}  {self.name:<24} {self.detail} ({self.seconds:.1f}s)"


@dataclass(frozen=True)
class VerifyReport:
    url: str
    results: tuple[CheckResult, ...]

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return self.count("fail") == 0

    def summary(self) -> str:
        skipped = self.count("skip")
        return f"{self.count('pass')} passed, {self.count('fail')} failed" + (f", {skipped} skipped" if skipped else "")

    def render(self) -> str:
        return "\n".join([*(r.render() for r in self.results), self.summary()])

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "ok": self.ok, "passed": self.count("pass"), "failed": self.count("fail"),
                "skipped": self.count("skip"),
                "checks": [{"name": r.name, "status": r.status, "detail": r.detail, "seconds": round(r.seconds, 3)}
                           for r in self.results]}


def verify_config(config: Path, options: VerifyOptions, *, progress: Callable[[str], None] = lambda _: None,
                  resolve_host: Callable[[str], list[str]] = sec.system_resolve) -> VerifyReport:
    """`supa-engine verify FILE`: load and resolve the config, then :func:`verify`."""
    return verify(resolve(load_config(config).config), options, progress=progress, resolve_host=resolve_host)


def verify(resolved: Resolved, options: VerifyOptions, *, progress: Callable[[str], None] = lambda _: None,
           resolve_host: Callable[[str], list[str]] = sec.system_resolve,
           sleep: Callable[[float], None] = time.sleep) -> VerifyReport:
    """Run the selected checks against the deployed environment of ``resolved``."""
    selected = select(options.only, options.skip)
    if options.timeout <= 0:
        raise EngineError(f"--timeout must be positive, got {options.timeout:g}")
    config = resolved.config
    url = options.url or f"https://{config.supabase.domain}"
    try:
        target = Target.of(url, options.ca_bundle)
    except (ValueError, OSError) as exc:  # a bad URL, an unreadable or invalid --ca-bundle
        raise EngineError(f"cannot verify {url}: {exc}") from None
    http_url = urlsplit(options.http_url or f"http://{target.host}")
    region = config.project.region
    client = aws_client("secretsmanager", region)
    anon = read_secret(client, resolved.names["secret_prefix"] + "anon-key")
    service = read_secret(client, resolved.names["secret_prefix"] + "service-role-key")
    ctx = Context(
        target=target, anon_key=anon, service_key=service, enabled=frozenset(s.name for s in resolved.services),
        signup_enabled=config.supabase.auth.signup_enabled, email_autoconfirm=config.supabase.auth.email_autoconfirm,
        studio_cidrs=tuple(config.security.studio.allowed_cidrs) if resolved.service("studio") else (),
        http_url=http_url, email_domain=config.supabase.domain,
        database=lambda: database_endpoint(resolved), resolve_host=resolve_host, sleep=sleep,
    )
    results = []
    for name, check in CHECKS:
        if name in selected:
            result = run_check(ctx, name, check, options.timeout)
            progress(result.render())
            results.append(result)
    return VerifyReport(url, tuple(results))


def select(only: Sequence[str], skip: Sequence[str]) -> frozenset[str]:
    unknown = sorted(n for n in (*only, *skip) if n not in CHECK_NAMES)
    if unknown:
        raise EngineError(f"unknown check(s): {', '.join(unknown)}", f"checks are: {', '.join(CHECK_NAMES)}")
    return frozenset(n for n in CHECK_NAMES if (not only or n in only) and n not in skip)


def run_check(ctx: Context, name: str, check: Callable[[Context], str], timeout: float) -> CheckResult:
    """One check under its own deadline; its outcome scrubbed of every key and password."""
    ctx.deadline, ctx.waits = Deadline(timeout), []
    started = time.monotonic()
    status: Status
    try:
        detail, status = check(ctx), "pass"
    except CheckFailed as exc:
        detail, status = str(exc), "fail"
    except CheckSkipped as exc:
        detail, status = str(exc), "skip"
    except EngineError as exc:  # AWS refused a look-up the check needed
        detail, status = exc.message, "fail"
    elapsed = time.monotonic() - started
    if status == "fail" and elapsed >= timeout and not detail.startswith("timed out"):
        detail = f"timed out after {timeout:g}s: {detail}"
    if ctx.waits:
        detail += f" ({'; '.join(ctx.waits)})"
    for secret in (ctx.anon_key, ctx.service_key, *ctx.redact):
        detail = detail.replace(secret, "[redacted]")
    return CheckResult(name, status, detail, elapsed)


def database_endpoint(resolved: Resolved) -> DatabaseEndpoint:
    """The RDS instance's endpoint name and public flag, from the RDS API."""
    identifier = resolved.names["database"]
    client = aws_client("rds", resolved.config.project.region)
    with aws_errors(f"describing RDS instance {identifier}"):
        try:
            instances = client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        except ClientError as exc:
            if error_code(exc) == "DBInstanceNotFound":
                raise CheckFailed(f"no RDS instance {identifier} (is the data stack applied?)") from None
            raise
    instance = instances[0]
    return DatabaseEndpoint((instance.get("Endpoint") or {}).get("Address"),
                            bool(instance.get("PubliclyAccessible")))
