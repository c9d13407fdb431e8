"""Every config the engine accepts synthesizes, with the basic structure intact."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.config import load_config
from engine.config.overlay import Merged
from engine.config.validate import validate
from engine.errors import ConfigError
from engine.resolve import resolve
from engine.synth import check
from engine.targets.terraform.app import synthesize
from tests.strategies import configs
from tests.support import Synthesized, load_output
from tests.targets.terraform.observability import assert_observability

EXAMPLES = 25 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 5


@settings(max_examples=EXAMPLES, deadline=None)
@given(tree=configs())
def test_accepted_configs_synthesize(synthesized: dict[str, Synthesized], tree: dict[str, Any]) -> None:
    # `synthesized` is requested only so the CDK Terrain import is paid once, before the examples.
    config = validate(Merged(entry="generated.yaml", files=("generated.yaml",), tree=tree, origins={}))
    resolved = resolve(config)
    with tempfile.TemporaryDirectory() as scratch:
        synthesize(resolved, Path(scratch) / "out")
        out = load_output(resolved, Path(scratch) / "out")

    zones = len(resolved.subnets)
    nats = out.resources("network", "aws_nat_gateway")
    assert len(nats) == (1 if config.network.nat == "single" else zones)
    assert all(s["map_public_ip_on_launch"] is False for s in out.resources("network", "aws_subnet").values())

    groups = out.resources("cluster", "aws_eks_node_group").values()
    assert sorted(g["node_group_name"] for g in groups) == sorted(config.cluster.node_groups)
    private = {f"${{data.terraform_remote_state.cross-stack-reference-input-network.outputs."
               f"cross-stack-output-aws_subnetprivate_{i}id}}" for i in range(zones)}
    assert all(set(g["subnet_ids"]) == private for g in groups)

    vpc = out.one("cluster", "aws_eks_cluster", "cluster")["vpc_config"]
    assert vpc["endpoint_private_access"] is True
    assert vpc["endpoint_public_access"] is bool(config.cluster.public_access_cidrs)
    assert vpc.get("public_access_cidrs", []) == list(config.cluster.public_access_cidrs)

    assert bool(out.resources("data", "aws_wafv2_web_acl")) == config.security.waf.enabled
    instance = out.one("data", "aws_db_instance", "database")
    assert instance["publicly_accessible"] is False and instance["multi_az"] == config.database.multi_az
    for stack in out.stacks.values():
        assert "aws_secretsmanager_secret_version" not in stack.get("resource", {})
        assert all(len(r["name"]) <= 64 for r in stack.get("resource", {}).get("aws_iam_role", {}).values())
    assert_observability(out)


INVARIANT_EXAMPLES = 20 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 3
REGISTRIES = ("docker.io", "public.ecr.aws", "ghcr.io")


@pytest.mark.slow
@settings(max_examples=INVARIANT_EXAMPLES, deadline=None)
@given(tree=configs(), registries=st.none() | st.lists(st.sampled_from(REGISTRIES), min_size=1, unique=True))
def test_accepted_configs_meet_every_invariant(synthesized: dict[str, Synthesized], tree: dict[str, Any],
                                               registries: list[str] | None) -> None:
    # A config `validate` accepts but the synth-time checks refuse is a gap in the config rules
    # (a default image from a registry the list leaves out was one): what validates must pass
    # every invariant. Registry lists drawn freely probe that gap; refused ones are discarded.
    if registries is not None:
        tree["security"]["image_registries"] = registries
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "generated.yaml"
        path.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
        try:
            load_config(path)
        except ConfigError:
            assume(False)
        check(path)  # raises ChecksFailed listing every violation
