"""The values compiler: complete, schema-valid values; secrets only by name; the schema is current."""

from __future__ import annotations

import dataclasses
import json

import pytest

from engine.catalog import COMPONENTS, DATABASE_LOGIN_ROLES, role_secret
from engine.targets.helm import compile_values, derived_outputs
from engine.targets.values import ChartValues
from tests.support import ENVIRONMENTS, resolved_env


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_values_are_complete_and_valid(env: str) -> None:
    resolved = resolved_env(env)
    values = compile_values(resolved, derived_outputs(resolved))
    ChartValues.model_validate(values)
    assert values == json.loads(json.dumps(values)), "values must be plain JSON data"
    assert values["storage"]["roleArn"].endswith(f"{resolved.prefix}-irsa-storage")
    enabled = {s.name for s in resolved.services}
    assert {n for n, c in values["components"].items() if c["enabled"]} == enabled


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secrets_are_named_never_inlined(env: str) -> None:
    resolved = resolved_env(env)
    items = compile_values(resolved, derived_outputs(resolved))["secrets"]["items"]
    for secret in resolved.secrets:
        assert items[secret.name]["remoteKey"] == resolved.secret_name(secret)
    assert {items[n]["remoteKey"] for n in items} <= {f"{resolved.names['secret_prefix']}{n}" for n in items}


def test_every_database_role_has_a_secret() -> None:
    resolved = resolved_env("prod")
    items = compile_values(resolved, derived_outputs(resolved))["secrets"]["items"]
    roles = {c.database_role for c in COMPONENTS if c.database_role}
    assert roles <= set(DATABASE_LOGIN_ROLES)
    assert {role_secret(role) for role in roles} <= set(items)


def test_rotation_changes_only_that_secrets_version() -> None:
    resolved = resolved_env("prod")
    infra = derived_outputs(resolved)
    before = compile_values(resolved, infra)["secrets"]["items"]
    rotated = dataclasses.replace(infra, secret_versions={"anon-key": "8f14e45f-ea4e-4a6b-9c1b-2c3d4e5f6a7b"})
    after = compile_values(resolved, rotated)["secrets"]["items"]
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"anon-key"}


def test_values_name_what_aws_assigns_instead_of_carrying_it() -> None:
    """The endpoint, the master secret and the web ACL are named; their AWS-assigned parts are read at runtime."""
    for env in ("dev", "staging", "prod"):
        resolved = resolved_env(env)
        values = compile_values(resolved, derived_outputs(resolved))
        assert values["database"]["hostParameter"] == f"/{resolved.prefix}/infra/database-host"
        assert values["bootstrap"]["databaseArn"].endswith(f":db:{resolved.names['database']}")
        waf = resolved.config.security.waf.enabled
        assert values["ingress"]["wafAclName"] == (f"{resolved.prefix}-api" if waf else "")


def test_compile_is_deterministic() -> None:
    resolved = resolved_env("staging")
    infra = derived_outputs(resolved)
    assert compile_values(resolved, infra) == compile_values(resolved, infra)
