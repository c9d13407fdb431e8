"""`supa-engine secrets rotate`: new values for the secrets the engine generates.

Each new value is first stored as AWSPENDING, then set where it must hold (the database, for a
role password), and only then made AWSCURRENT; the next `apply` rolls exactly the pods that read
it (README: "Rotating secrets"). Values never leave this module and the Secrets Manager calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.catalog import BY_NAME, DATABASE_LOGIN_ROLES, Secret, role_secret
from engine.deploy.aws import aws_errors
from engine.deploy.secrets import (
    JWT_SECRET,
    key_lifetime_seconds,
    no_wire_logs,
    random_text,
    read_jwt_secret,
    sign_jwt,
)
from engine.errors import EngineError
from engine.resolve import Resolved

API_KEYS = ("anon-key", "service-role-key")
# Components whose pods read each generated secret (the chart's secretEnv uses; a test renders
# the chart and compares). Database passwords are read by the components logging in as the role.
READERS: Mapping[str, tuple[str, ...]] = {
    JWT_SECRET: ("auth", "rest", "realtime", "storage", "studio", "functions"),
    "anon-key": ("kong", "storage", "studio", "functions"),
    "service-role-key": ("kong", "storage", "studio", "functions"),
    "realtime-secret-key-base": ("realtime",),
    "realtime-erlang-cookie": ("realtime",),
    "meta-crypto-key": ("meta", "studio"),
    "studio-dashboard-password": ("kong",),
    "logflare-api-key": ("analytics", "studio"),
    **{role_secret(role): tuple(c.name for c in BY_NAME.values() if c.database_role == role)
       for role in DATABASE_LOGIN_ROLES},
}
# Generated secrets that cannot be replaced in place, and why.
NOT_ROTATED: Mapping[str, str] = {
    "realtime-db-enc-key": "it encrypts the tenant's stored database settings; pods with a new key could not "
                           "read them until the tenant Job rewrote them",
}


@dataclass(frozen=True)
class Rotation:
    """One secret to replace: how its new value is made and who must change with it."""

    secret: Secret
    name: str  # the Secrets Manager name
    role: str | None  # the database login role whose password this is
    readers: tuple[str, ...]  # enabled components whose pods roll at the next apply

    def describe(self) -> str:
        if self.role:
            how = f"new password, set for database role {self.role}"
        elif self.secret.kind.startswith("jwt:"):
            how = f"re-signed for {self.secret.kind.removeprefix('jwt:')} with the JWT secret"
        else:
            how = f"new random value of {self.secret.length} characters"
        return f"{self.name}: {how}; rolls {', '.join(self.readers) or 'no pods'}"


@dataclass(frozen=True)
class RotationReport:
    rotated: tuple[Rotation, ...]
    dry_run: bool

    def render(self) -> str:
        verb = "would rotate" if self.dry_run else "rotated"
        lines = [f"{verb} {r.describe()}" for r in self.rotated]
        return "\n".join(lines)

    def rolls(self) -> tuple[str, ...]:
        return tuple(sorted({c for r in self.rotated for c in r.readers}))


def plan_rotation(resolved: Resolved, names: tuple[str, ...]) -> tuple[Rotation, ...]:
    """The rotations for `names` (catalog names; none: every rotatable secret), in a safe order.

    The JWT secret brings the API keys along (they are signed with it); user-provided secrets
    and NOT_ROTATED ones are refused with the reason.
    """
    known = {s.name: s for s in resolved.secrets}
    rotatable = [s.name for s in resolved.secrets if s.kind != "external" and s.name not in NOT_ROTATED]
    chosen = set(names) if names else set(rotatable)
    for name in sorted(chosen):
        if name not in known:
            raise EngineError(f"{name} is not a secret of this environment",
                              f"rotatable secrets: {', '.join(rotatable)}")
        if known[name].kind == "external":
            raise EngineError(f"{name} holds a value only you have ({known[name].purpose})",
                              f"store the new value with `aws secretsmanager put-secret-value --secret-id "
                              f"{resolved.secret_name(known[name])} --secret-string file://{name}.txt`, then run apply")
        if name in NOT_ROTATED:
            raise EngineError(f"{name} is not rotated: {NOT_ROTATED[name]}", "rotate the other secrets")
    if JWT_SECRET in chosen:
        chosen |= set(API_KEYS)
    on = {s.name for s in resolved.services}
    roles = {role_secret(role): role for role in DATABASE_LOGIN_ROLES}
    # The JWT secret before the keys signed with it; otherwise catalog order.
    order = sorted((s for s in resolved.secrets if s.name in chosen), key=lambda s: s.kind.startswith("jwt:"))
    return tuple(Rotation(s, resolved.secret_name(s), roles.get(s.name), _readers(resolved, s.name, on))
                 for s in order)


def _readers(resolved: Resolved, name: str, on: set[str]) -> tuple[str, ...]:
    if name == "studio-dashboard-password" and not resolved.config.security.studio.allowed_cidrs:
        return ()  # kong asks for it only when Studio is served (the chart's supabase.studioPublic)
    return tuple(c for c in READERS.get(name, ()) if c in on)


def confirmation(resolved: Resolved, rotations: tuple[Rotation, ...]) -> str:
    """The question asked before anything changes; for the JWT secret it says what clients must do."""
    lines = [f"rotate {len(rotations)} secret(s) of {resolved.prefix}:"]
    lines += [f"  {r.describe()}" for r in rotations]
    if any(r.secret.name == JWT_SECRET for r in rotations):
        anon = resolved.names["secret_prefix"] + "anon-key"
        lines += [
            "The JWT secret signs every token: after the roll, access tokens signed with the old secret are",
            "refused (signed-in users refresh or sign in again) and the old anon and service_role keys stop",
            "working. Every client must get the new anon key; read it with",
            f"  aws secretsmanager get-secret-value --secret-id {anon} --query SecretString --output text",
        ]
    if any(r.role for r in rotations):
        lines.append("Database passwords change now: pods still running with the old one keep their open "
                     "connections but cannot open new ones until `apply` rolls them; run it right after.")
    return "\n".join([*lines, "go ahead?"])


SetPasswords = Callable[[Mapping[str, str]], None]


def rotate(client: Any, resolved: Resolved, rotations: tuple[Rotation, ...], *,
           set_passwords: SetPasswords | None, now: Callable[[], float] = time.time) -> RotationReport:
    """Replace the secrets of `rotations`: stage every new value, set the passwords, then promote.

    `set_passwords` gets {role: password} for the database roles (the bootstrap's password path);
    it is required when a role password is rotated. A failure before promotion leaves every
    current value as it was (the new ones stay AWSPENDING, unused).
    """
    roles = [r for r in rotations if r.role]
    if roles and set_passwords is None:
        raise EngineError("rotating database passwords needs the database",
                          "pass --dsn (the master user's password through PGPASSWORD)")
    values: dict[str, str] = {}
    signing_key: str | None = None
    for rotation in rotations:
        secret = rotation.secret
        if secret.kind == "random":
            values[secret.name] = random_text(secret.length)
        else:  # jwt:<role>: the JWT secret rotated in this run, or the current one
            if signing_key is None:
                jwt_name = resolved.names["secret_prefix"] + JWT_SECRET
                signing_key = values.get(JWT_SECRET) or read_jwt_secret(client, jwt_name)
            values[secret.name] = sign_jwt(secret.kind.removeprefix("jwt:"), signing_key, issued_at=int(now()),
                                           lifetime_seconds=key_lifetime_seconds(resolved))
    staged = {r.secret.name: _stage(client, r.name, values[r.secret.name]) for r in rotations}
    if roles and set_passwords is not None:
        set_passwords({r.role: values[r.secret.name] for r in roles if r.role})
    # Passwords the database already uses first, so a later failure cannot leave one pending.
    for rotation in sorted(rotations, key=lambda r: r.role is None):
        _promote(client, rotation.name, staged[rotation.secret.name], database=rotation.role is not None)
    return RotationReport(rotations, dry_run=False)


def _stage(client: Any, name: str, value: str) -> tuple[str, str | None]:
    """Store `value` as AWSPENDING; (its version, the current version)."""
    with aws_errors(f"reading the versions of secret {name}"):
        stages = client.describe_secret(SecretId=name).get("VersionIdsToStages") or {}
    current = next((v for v, labels in stages.items() if "AWSCURRENT" in labels), None)
    if current is None:
        raise EngineError(f"secret {name} has no value yet, so there is nothing to rotate",
                          "run `supa-engine apply` first; it generates the first values")
    with no_wire_logs(), aws_errors(f"storing the new value of secret {name}"):
        version = client.put_secret_value(SecretId=name, SecretString=value, VersionStages=["AWSPENDING"])
    return str(version["VersionId"]), current


def _promote(client: Any, name: str, versions: tuple[str, str | None], *, database: bool) -> None:
    new, current = versions
    doing = f"making the new value of secret {name} current"
    try:
        with aws_errors(doing):
            client.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=new,
                                               RemoveFromVersionId=current)
            # The old version keeps AWSPREVIOUS (set by Secrets Manager); the pending label is done.
            client.update_secret_version_stage(SecretId=name, VersionStage="AWSPENDING", RemoveFromVersionId=new)
    except EngineError as exc:
        if not database:
            raise
        raise EngineError(f"{exc.message}; the database already uses the new password, stored as its AWSPENDING "
                          "version", f"aws secretsmanager update-secret-version-stage --secret-id {name} "
                          f"--version-stage AWSCURRENT --move-to-version-id {new} --remove-from-version-id "
                          f"{current}") from None
