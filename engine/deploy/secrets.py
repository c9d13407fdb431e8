"""Fill the environment's empty Secrets Manager containers once, so no value passes Terraform.

Values never leave this module: reports hold names and states, and botocore's body logs are off.
"""

from __future__ import annotations

import logging
import secrets as random_source
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import jwt
from botocore.exceptions import ClientError

from engine.catalog import Secret
from engine.deploy.aws import aws_errors, error_code
from engine.errors import EngineError
from engine.resolve import Resolved

JWT_SECRET = "jwt-secret"  # the catalog name of the key that signs the jwt:<role> secrets
JWT_ISSUER = "supabase"
DAY_SECONDS = 24 * 3600
_TOKEN_NAMESPACE = uuid.UUID("6f1f0f8e-6a43-4b0c-9a55-2b1d3c9e7a10")
# botocore loggers that write request or response bodies at DEBUG level.
_WIRE_LOGGERS = ("botocore.endpoint", "botocore.parsers", "botocore.awsrequest", "botocore.httpsession")

SecretState = Literal["set", "generated", "empty", "needs value", "missing container"]


@dataclass(frozen=True)
class SecretStatus:
    """One secret's name and state; never its value.

    ``state`` is ``set`` (had a value), ``generated`` (got one in this run), ``empty`` (no value
    yet, ``apply`` will generate it), ``needs value`` (an ``external`` secret only the operator
    can fill; ``hint`` says how) or ``missing container`` (Terraform has not created it yet).
    """

    name: str
    kind: str
    state: SecretState
    hint: str | None = None

    def render(self) -> str:
        return f"{self.state:<17} {self.name}" + (f"\n  {self.hint}" if self.hint else "")


@dataclass(frozen=True)
class SecretsReport:
    secrets: tuple[SecretStatus, ...]

    def with_state(self, state: SecretState) -> tuple[SecretStatus, ...]:
        return tuple(s for s in self.secrets if s.state == state)

    def render(self) -> str:
        return "\n".join(s.render() for s in self.secrets)


def bootstrap_secrets(client: Any, resolved: Resolved, *, now: Callable[[], float] = time.time) -> SecretsReport:
    """Give every empty secret container of ``resolved`` a value; one that has a value is never touched.

    ``random`` secrets get URL-safe random text of the catalog's length, ``jwt:<role>`` secrets
    an HS256 JWT signed with the JWT secret (valid `supabase.auth.api_key_lifetime_days`),
    and ``external`` ones nothing: the report says which command sets them.
    """
    found = {s.name: _lookup(client, resolved.secret_name(s)) for s in resolved.secrets}
    jwt_name = resolved.names["secret_prefix"] + JWT_SECRET
    outcome: dict[str, SecretStatus] = {}
    signing_key: str | None = None
    # The JWT secret first: the jwt:<role> secrets are signed with it.
    for secret in sorted(resolved.secrets, key=lambda s: s.kind.startswith("jwt:")):
        name = resolved.secret_name(secret)
        status = outcome[secret.name] = _status(secret, name, found[secret.name])
        if status.state != "empty":
            continue
        if secret.kind == "random":
            value = random_text(secret.length)
        elif secret.kind.startswith("jwt:"):
            if found.get(JWT_SECRET) not in ("set", "empty"):
                outcome[secret.name] = SecretStatus(name, secret.kind, "missing container",
                                                    f"its signing key {jwt_name} is missing: run apply of the "
                                                    "data stack first")
                continue
            if signing_key is None:  # read back what is stored, whoever stored it
                signing_key = read_jwt_secret(client, jwt_name)
            value = sign_jwt(secret.kind.removeprefix("jwt:"), signing_key, issued_at=int(now()),
                             lifetime_seconds=key_lifetime_seconds(resolved))
        else:
            raise ValueError(f"unknown secret kind {secret.kind!r} of {secret.name}")  # a catalog bug
        written = _put_initial(client, name, value)
        outcome[secret.name] = SecretStatus(name, secret.kind, "generated" if written else "set")
    return SecretsReport(tuple(outcome[s.name] for s in resolved.secrets))


def secrets_status(client: Any, resolved: Resolved) -> list[SecretStatus]:
    """Names and states of the environment's secrets, for ``supa-engine secrets status``.

    Reads metadata only (DescribeSecret, ListSecretVersionIds): no value is fetched. An API key
    that is set says when it expires, from when its current version was stored.
    """
    statuses = [_status(s, resolved.secret_name(s), _lookup(client, resolved.secret_name(s)))
                for s in resolved.secrets]
    return [_with_expiry(client, status, resolved) if status.kind.startswith("jwt:") and status.state == "set"
            else status for status in statuses]


def _with_expiry(client: Any, status: SecretStatus, resolved: Resolved) -> SecretStatus:
    with aws_errors(f"listing the versions of secret {status.name}"):
        versions = client.list_secret_version_ids(SecretId=status.name).get("Versions") or []
    created = next((v.get("CreatedDate") for v in versions if "AWSCURRENT" in (v.get("VersionStages") or [])), None)
    if created is None:
        return status
    expires = created + timedelta(seconds=key_lifetime_seconds(resolved))
    return SecretStatus(status.name, status.kind, status.state,
                        f"expires about {expires:%Y-%m-%d} (signed {created:%Y-%m-%d}, api_key_lifetime_days); "
                        "renew with `supa-engine secrets rotate FILE "
                        f"{status.name.removeprefix(resolved.names['secret_prefix'])}`")


def random_text(length: int) -> str:
    """URL-safe random text of exactly ``length`` characters."""
    if length <= 0:
        raise ValueError("a random secret needs a positive length")
    return random_source.token_urlsafe(length)[:length]


def key_lifetime_seconds(resolved: Resolved) -> int:
    """How long the anon and service_role keys stay valid (`supabase.auth.api_key_lifetime_days`)."""
    return resolved.config.supabase.auth.api_key_lifetime_days * DAY_SECONDS


def sign_jwt(role: str, key: str, *, issued_at: int, lifetime_seconds: int) -> str:
    """A Supabase API key: an HS256 JWT for ``role`` signed with the JWT secret ``key``."""
    claims = {"role": role, "iss": JWT_ISSUER, "iat": issued_at, "exp": issued_at + lifetime_seconds}
    return jwt.encode(claims, key, algorithm="HS256")


# --- Secrets Manager calls -------------------------------------------------------------------------


def _lookup(client: Any, name: str) -> Literal["set", "empty", "missing", "deleted"]:
    """Whether the container exists and has a current value, from its metadata alone.

    GetSecretValue answers ResourceNotFoundException both for a missing secret and for one
    without a value, so DescribeSecret is asked instead: its version list says whether any
    version carries the AWSCURRENT label.
    """
    with aws_errors(f"looking up secret {name}"):
        try:
            described = client.describe_secret(SecretId=name)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return "missing"
            raise
    if described.get("DeletedDate") is not None:
        return "deleted"
    stages = described.get("VersionIdsToStages") or {}
    return "set" if any("AWSCURRENT" in labels for labels in stages.values()) else "empty"


def _status(secret: Secret, name: str, found: str) -> SecretStatus:
    """What a lookup means for this kind of secret (before anything is generated)."""
    if found == "missing":
        return SecretStatus(name, secret.kind, "missing container",
                            "run apply of the data stack first (Terraform creates the containers)")
    if found == "deleted":
        return SecretStatus(name, secret.kind, "missing container",
                            f"scheduled for deletion: `aws secretsmanager restore-secret --secret-id {name}`, "
                            "or wait for the deletion and apply the data stack again")
    if found == "set":
        return SecretStatus(name, secret.kind, "set")
    if secret.kind == "external":
        return SecretStatus(name, secret.kind, "needs value",
                            f"needs a value from you ({secret.purpose}): aws secretsmanager put-secret-value "
                            f"--secret-id {name} --secret-string file://{secret.name}.txt")
    return SecretStatus(name, secret.kind, "empty", "`supa-engine apply` generates it")


def _put_initial(client: Any, name: str, value: str) -> bool:
    """Store the first value of ``name``; False if another run stored one first.

    The request token derives from the name, so of two racing runs Secrets Manager keeps only
    the first value, and the loser reads it back rather than signing keys with its own.
    """
    token = str(uuid.uuid5(_TOKEN_NAMESPACE, f"initial:{name}"))
    with no_wire_logs(), aws_errors(f"storing the generated value of secret {name}"):
        try:
            client.put_secret_value(SecretId=name, SecretString=value, ClientRequestToken=token)
        except ClientError as exc:
            if error_code(exc) == "ResourceExistsException":  # same token, other value: a concurrent run won
                return False
            raise
    return True


def read_jwt_secret(client: Any, name: str) -> str:
    """The JWT secret that the API keys are signed with."""
    return read_secret(client, name, hint=f"store the JWT secret as text: aws secretsmanager put-secret-value "
                       f"--secret-id {name} --secret-string file://jwt-secret.txt")


@contextmanager
def no_wire_logs() -> Iterator[None]:
    """Drop botocore's body-level debug records while a secret value is on the wire."""
    drop = _DropAll()
    loggers = [logging.getLogger(name) for name in _WIRE_LOGGERS]
    for logger in loggers:
        logger.addFilter(drop)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(drop)


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def read_secret(client: Any, name: str, hint: str = "`supa-engine secrets status` lists the secrets") -> str:
    """The current text value of secret `name`, with botocore's body logs off (never print it).

    `hint` says how to give the secret a text value when it holds none.
    """
    with no_wire_logs(), aws_errors(f"reading secret {name}"):
        try:
            value = client.get_secret_value(SecretId=name).get("SecretString")
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise EngineError(f"secret {name} is missing or has no value",
                                  hint="run `supa-engine apply` (it creates and fills the generated secrets); "
                                  "`supa-engine secrets status` lists them") from None
            raise
    if not isinstance(value, str) or not value:
        raise EngineError(f"secret {name} holds no text value", hint=hint)
    return value
