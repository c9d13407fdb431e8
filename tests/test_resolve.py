from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import given

from engine.config.overlay import Merged
from engine.config.validate import validate
from engine.resolve import NAME_LIMITS, resolve, subnet_plan
from tests.strategies import configs
from tests.support import resolved_env


def _resolved(tree: dict[str, Any]) -> Any:
    return resolve(validate(Merged(entry="generated.yaml", files=("generated.yaml",), tree=tree, origins={})))


def test_prod_example_facts() -> None:
    resolved = resolved_env("prod")
    assert resolved.prefix == "acme-prod"
    assert resolved.names["storage_bucket"] == "acme-prod-storage-eu-west-1"
    assert resolved.state.key("data") == "supa-engine/prod/data.tfstate"
    assert resolved.tags["Environment"] == "prod" and resolved.tags["ManagedBy"] == "supa-engine"
    assert resolved.tags["CostCenter"] == "platform"
    assert [s.name for s in resolved.services] == [
        "kong", "auth", "rest", "realtime", "storage", "imgproxy", "meta", "studio", "functions"]
    realtime = resolved.service("realtime")
    assert realtime is not None and realtime.scaling.min_replicas == 3


def test_subnet_plan_layout() -> None:
    plan = subnet_plan("10.0.0.0/16", 3)
    assert [z.private for z in plan] == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    assert [z.public for z in plan] == ["10.0.128.0/20", "10.0.144.0/20", "10.0.160.0/20"]
    assert [z.database for z in plan] == ["10.0.192.0/20", "10.0.208.0/20", "10.0.224.0/20"]


@given(configs())
def test_derived_facts_hold_for_every_config(tree: dict[str, Any]) -> None:
    resolved = _resolved(tree)
    for purpose, name in resolved.names.items():
        assert len(name) <= NAME_LIMITS[purpose]
    vpc = ipaddress.IPv4Network(resolved.config.network.vpc_cidr)
    subnets = [ipaddress.IPv4Network(c) for z in resolved.subnets for c in (z.private, z.public, z.database)]
    assert len(resolved.subnets) == resolved.config.network.availability_zones
    assert all(s.subnet_of(vpc) for s in subnets)
    assert all(not a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1:])
    assert all(ipaddress.IPv4Network(z.private).prefixlen <= 24 for z in resolved.subnets)
    assert "kong" in {s.name for s in resolved.services}


def test_secrets_follow_enabled_components() -> None:
    dev = resolved_env("dev")
    names = [dev.secret_name(s) for s in dev.secrets]
    assert "acme-dev/jwt-secret" in names and "acme-dev/smtp-password" in names
    assert "acme-dev/logflare-api-key" not in names  # analytics is off
    assert all(name.startswith("acme-dev/") for name in names)
