"""Validation details the case files do not pin: error shape, hints, production rules, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalog import BY_NAME, COMPONENT_NAMES
from engine.config import load_config
from engine.config.rules import _windows_overlap
from engine.errors import ConfigError
from tests.support import ROOT

CASES = Path(__file__).parent / "cases"


def _overlay(tmp_path: Path, text: str) -> Path:
    (tmp_path / "base.yaml").write_text((CASES / "base.yaml").read_text())
    path = tmp_path / "env.yaml"
    path.write_text("extends: base.yaml\n" + text)
    return path


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    path = _overlay(tmp_path, "network:\n  nat: sometimes\n  vpc_cidr: 8.8.8.0/24\ndatabase:\n  multi_az: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [p.path for p in caught.value.problems] == ["network.nat", "network.vpc_cidr", "database.multi_az"]


def test_problems_render_as_file_line_column_path_message(tmp_path: Path) -> None:
    path = _overlay(tmp_path, "storage:\n  upload_size_limit_mb: 0\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.render().startswith(
        f"{caught.value.problems[0].location.file}:3:3: storage.upload_size_limit_mb: input should be greater"
    )


def test_production_tightens_every_rule(tmp_path: Path) -> None:
    path = _overlay(tmp_path, "project: {tier: production}\nnetwork: {nat: single}\ndatabase:\n"
                    "  deletion_protection: false\n  backup_retention_days: 3\ncluster:\n  node_groups:\n"
                    "    general: {instance_types: [m6i.large], capacity: spot}\n"
                    "supabase: {auth: {email_autoconfirm: true}, redirect_urls: ['http://localhost:3000']}\n"
                    "observability:\n  alarm_endpoints: []\n  container_insights: false\n"
                    "  alarms: {api_5xx_percent: 20, database_free_storage_percent: 5}\n"
                    "security: {waf: {enabled: false}}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    paths = {p.path for p in caught.value.problems}
    # Every running image is pinned by tag only: production wants digests.
    images = {f"supabase.components.{name}.image" for name in COMPONENT_NAMES if BY_NAME[name].enabled_by_default}
    assert paths == {
        "database.multi_az", "database.deletion_protection", "database.backup_retention_days", "network.nat",
        "cluster.node_groups", "autoscaling.default.min_replicas", "supabase.auth.email_autoconfirm",
        "supabase.redirect_urls[0]", "observability.alarm_endpoints", "observability.container_insights",
        "observability.alarms.api_5xx_percent", "observability.alarms.database_free_storage_percent",
        "security.waf.enabled", "database.bootstrap_image.digest", *images,
    }


def test_same_settings_pass_outside_production(tmp_path: Path) -> None:
    path = _overlay(tmp_path, "network: {nat: single}\ndatabase:\n  deletion_protection: false\n"
                    "  backup_retention_days: 3\nsupabase: {auth: {email_autoconfirm: true}}\n")
    assert load_config(path).config.network.nat == "single"


def test_defaults_are_safe(tmp_path: Path) -> None:
    config = load_config(CASES / "base.yaml").config
    assert config.network.nat == "per_az"
    assert config.database.deletion_protection and config.database.performance_insights
    assert config.cluster.public_access_cidrs == ()
    assert config.security.studio.allowed_cidrs == ()
    assert config.security.waf.enabled


@pytest.mark.parametrize("name", ["supabase.yaml", "environments/dev.yaml", "environments/staging.yaml",
                                  "environments/prod.yaml"])
def test_examples_validate(name: str) -> None:
    config = load_config(ROOT / name).config
    if name.endswith("prod.yaml"):
        assert config.project.tier == "production" and config.database.multi_az
        assert config.network.nat == "per_az"
    if name.endswith("dev.yaml"):
        assert config.network.nat == "single" and config.project.environment == "dev"


@pytest.mark.parametrize(
    ("backup", "maintenance", "overlap"),
    [("03:00-04:00", "sun:05:00-sun:06:00", False), ("03:00-04:00", "sun:03:30-sun:04:30", True),
     ("23:30-00:30", "mon:00:00-mon:00:45", True), ("23:30-00:30", "mon:00:30-mon:01:00", False),
     ("01:00-02:00", "sat:23:00-sun:01:30", True)],
)
def test_window_overlap(backup: str, maintenance: str, overlap: bool) -> None:
    assert _windows_overlap(backup, maintenance) is overlap
