"""Upgrade and restore in the synthesized Terraform JSON, checked by every invariant, and `upgrade plan`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.build import read_stacks
from engine.cli import main
from engine.config import load_config
from engine.resolve import resolve
from engine.synth import check
from engine.upgrade import bundle_of, plan_upgrade
from tests.support import ROOT


def _config(tmp_path: Path, name: str, base: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"extends: {ROOT / 'environments' / f'{base}.yaml'}\n{body}")
    return path


def _data_stack(tmp_path: Path, config: Path) -> dict[str, Any]:
    assert main(["synth", "--out", str(tmp_path / "out"), str(config)]) == 0  # every invariant passes
    return read_stacks(tmp_path / "out" / config.stem / "terraform")["data"]


def test_major_upgrade_synthesizes_a_new_parameter_group(tmp_path: Path) -> None:
    data = _data_stack(tmp_path, _config(tmp_path, "prod", "prod", "database: {engine_version: '17'}"))
    instance = data["resource"]["aws_db_instance"]["database"]
    assert instance["engine_version"] == "17"
    assert instance["allow_major_version_upgrade"] is True and instance["apply_immediately"] is True
    (group,) = data["resource"]["aws_db_parameter_group"].values()
    assert group["family"] == "postgres17" and group["name"] == "acme-prod-postgres17"
    assert group["lifecycle"] == {"create_before_destroy": True}
    assert instance["parameter_group_name"] == "${aws_db_parameter_group.database_parameters.name}"
    assert "snapshot_identifier" not in instance and instance["username"] == "postgres"


def test_restore_drill_from_a_snapshot(tmp_path: Path) -> None:
    body = ("project: {environment: drill}\nsupabase: {domain: api.drill.acme.example}\n"
            "database: {restore: {mode: drill, snapshot_identifier: acme-prod-before-postgres17}}\n")
    data = _data_stack(tmp_path, _config(tmp_path, "drill", "staging", body))
    instance = data["resource"]["aws_db_instance"]["database"]
    assert instance["identifier"] == "acme-drill"
    assert instance["snapshot_identifier"] == "acme-prod-before-postgres17"
    assert instance["tags"] == {"RestoredFrom": "acme-prod-before-postgres17"}
    # they come from the snapshot, its key included (a key here would replace the instance on every plan)
    assert "username" not in instance and "db_name" not in instance and "kms_key_id" not in instance
    assert instance["storage_encrypted"] is True and instance["publicly_accessible"] is False


def test_restore_to_a_point_in_time(tmp_path: Path) -> None:
    body = ("database:\n  restore:\n    mode: drill\n    point_in_time:\n"
            "      source_db_instance_identifier: acme-prod\n      restore_time: '2026-03-01T09:30:00Z'\n")
    config = _config(tmp_path, "dev", "dev", body)
    check(config)
    data = _data_stack(tmp_path, config)
    instance = data["resource"]["aws_db_instance"]["database"]
    assert instance["restore_to_point_in_time"] == {"source_db_instance_identifier": "acme-prod",
                                                    "restore_time": "2026-03-01T09:30:00Z"}
    assert instance["tags"] == {"RestoredFrom": "acme-prod@2026-03-01T09:30:00Z"}
    assert "kms_key_id" not in instance  # the source's key: the provider sends none with this restore


def test_upgrade_plan_from_the_last_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["synth", "--out", str(out), str(ROOT / "environments" / "prod.yaml")]) == 0
    recorded = json.loads((out / "prod" / "bundle.json").read_text())
    assert recorded["postgres"] == "16" and recorded["images"]["kong"] == "kong:2.8.1"
    capsys.readouterr()
    assert main(["upgrade", "plan", "--out", str(out), str(ROOT / "environments" / "prod.yaml")]) == 0
    assert "prod: nothing to upgrade" in capsys.readouterr().out
    newer = _config(tmp_path, "prod", "prod",
                    "database: {engine_version: '17'}\nsupabase:\n  components:\n"
                    "    rest: {image: {repository: postgrest/postgrest, tag: v13.0.8}}\n")
    assert main(["upgrade", "plan", "--out", str(out), "--format", "json", str(newer)]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [(s["area"], s["name"], s["before"], s["after"]) for s in plan["steps"]] == [
        ("postgres", "major version", "16", "17"), ("image", "rest", "postgrest/postgrest:v13.0.7",
                                                    "postgrest/postgrest:v13.0.8")]
    assert "acme-prod-before-postgres17" in plan["steps"][0]["risk"] and plan["needs_confirm"] is True
    assert plan["warnings"] == ["rest runs postgrest/postgrest:v13.0.8, outside the tested bundle "
                                "(postgrest/postgrest:v13.0.7): the engine has not tested it with the rest"]


def test_upgrade_plan_moves_controllers_and_refuses_downgrade(tmp_path: Path) -> None:
    resolved = resolve(load_config(ROOT / "environments" / "dev.yaml").config)
    current = bundle_of(resolved)
    older = type(current)(engine="0.0.1", chart=current.chart, postgres="15",
                          controllers={**current.controllers, "metrics-server": "3.12.0"}, images=current.images)
    plan = plan_upgrade(older, resolved)
    assert [s.area for s in plan.steps] == ["postgres", "controllers"] and not plan.needs_confirm
    newer = type(current)(engine="9", chart=current.chart, postgres="17", images=current.images)
    with pytest.raises(Exception, match="cannot go back from 17 to 16"):
        plan_upgrade(newer, resolved)


def test_missing_bundle_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["upgrade", "plan", "--out", str(tmp_path), str(ROOT / "environments" / "dev.yaml")]) == 1
    assert "no recorded bundle" in capsys.readouterr().err
