"""Synthesis is a pure function of the config: same input, byte-identical files."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import EngineError
from engine.targets.terraform.app import synthesize
from tests.support import Synthesized, resolved_env


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_prod_twice_is_byte_identical(synthesized: dict[str, Synthesized], tmp_path: Path) -> None:
    resolved = resolved_env("prod")
    synthesize(resolved, tmp_path / "first")
    synthesize(resolved, tmp_path / "second")
    first, second = files(tmp_path / "first"), files(tmp_path / "second")
    assert first == second
    assert first == files(synthesized["prod"].outdir)
    assert sorted(f for f in first if "/assets/" not in f) == [
        "manifest.json", "stacks/cluster/cdk.tf.json", "stacks/data/cdk.tf.json", "stacks/network/cdk.tf.json",
        "stacks/workloads/cdk.tf.json"]
    assets = [f for f in first if "/assets/" in f]  # the namespaces chart, copied next to its stack
    assert assets and all(f.startswith("stacks/workloads/assets/namespaces_chart/") for f in assets)


def test_no_paths_leak_into_the_output(synthesized: dict[str, Synthesized]) -> None:
    out = synthesized["prod"]
    for content in files(out.outdir).values():
        assert str(out.outdir).encode() not in content


def test_refuses_a_non_empty_outdir(tmp_path: Path) -> None:
    (tmp_path / "stale").write_text("left over")
    with pytest.raises(EngineError, match="not empty"):
        synthesize(resolved_env("dev"), tmp_path)
