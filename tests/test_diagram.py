"""`supa-engine diagram`: the graph model of each example environment, and golden renderings."""

from __future__ import annotations

import shutil

import pytest

from engine.cli import main
from engine.config import load_config
from engine.diagram import Diagram, as_dot, as_mermaid, platform
from engine.resolve import resolve
from tests.golden import assert_golden
from tests.support import ROOT

ENVIRONMENTS = ("dev", "staging", "prod")


def _diagram(environment: str) -> Diagram:
    return platform(resolve(load_config(ROOT / "environments" / f"{environment}.yaml").config))


def _labels(diagram: Diagram) -> dict[str, str]:
    return {n.id: n.label for n in diagram.nodes}


def _links(diagram: Diagram) -> dict[tuple[str, str], str]:
    return {(link.source, link.target): link.label for link in diagram.links}


def test_prod_has_a_nat_per_zone_and_a_multi_az_database() -> None:
    prod = _diagram("prod")
    labels = _labels(prod)
    assert [g.id for g in prod.groups if g.parent == "vpc"] == ["zone0", "zone1", "zone2", "eks"]
    assert {n for n in labels if n.startswith("nat")} == {"nat0", "nat1", "nat2"}
    assert all(_links(prod)[f"private{i}", f"nat{i}"] == "default route" for i in range(3))
    assert "multi-AZ" in labels["rds"] and "db.r6g.large" in labels["rds"]
    assert labels["public2"] == "public subnet<br/>10.30.160.0/20"
    assert "w_functions" in labels and "w_analytics" not in labels
    assert "3-6 pods" in labels["w_realtime"]


def test_dev_has_one_nat_for_both_zones_and_a_single_az_database() -> None:
    dev = _diagram("dev")
    labels, links = _labels(dev), _links(dev)
    assert {n for n in labels if n.startswith("nat")} == {"nat0"}
    assert links["private1", "nat0"] == "default route"
    assert "single-AZ" in labels["rds"]
    assert "spot" in labels["nodes_general"]


def test_traffic_follows_the_service_graph() -> None:
    links = _links(_diagram("prod"))
    assert links["internet", "waf"] == "HTTPS 443" and links["waf", "alb"] == "allowed requests"
    assert links["alb", "w_kong"] == "TCP 8000, TCP 8100"
    assert links["w_auth", "rds"] == "TCP 5432" and links["w_db_bootstrap", "rds"] == "TCP 5432"
    assert links["w_storage", "s3_endpoint"] == "TCP 443"
    assert links["w_auth", "smtp"] == "TCP 587"
    assert links["w_realtime", "w_realtime"] == "TCP 4369, TCP 5369, TCP 9100"
    assert not any(target == "dns" for _, target in links)  # every workload resolves names: not drawn
    assert ("w_kong", "w_studio") not in links  # studio takes no traffic without operator CIDRs


def test_every_link_joins_drawn_nodes() -> None:
    for environment in ENVIRONMENTS:
        diagram = _diagram(environment)
        ids = {n.id for n in diagram.nodes}
        assert all(link.source in ids and link.target in ids for link in diagram.links), environment
        groups = {g.id for g in diagram.groups}
        assert all(n.group is None or n.group in groups for n in diagram.nodes)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_renderings_are_golden(environment: str) -> None:
    diagram = _diagram(environment)
    assert_golden(f"diagram-{environment}.mmd", as_mermaid(diagram))
    assert_golden(f"diagram-{environment}.dot", as_dot(diagram))


def test_cli_svg_or_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diagram", str(ROOT / "environments" / "prod.yaml"), "--format", "svg"])
    captured = capsys.readouterr()
    if shutil.which("dot") is None:
        assert code == 1 and "apt-get install graphviz" in captured.err
    else:
        assert code == 0 and captured.out.lstrip().startswith("<?xml") and "</svg>" in captured.out
        assert "RDS PostgreSQL 16" in captured.out
