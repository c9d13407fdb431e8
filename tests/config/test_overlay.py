"""Overlay precedence, pinned: later files win, maps merge, lists replace, null removes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.config.load import Path_
from engine.config.overlay import load_merged, merge
from engine.errors import ConfigError, Location


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_chain_precedence_and_origins(tmp_path: Path) -> None:
    _write(tmp_path, "base.yaml", "a: {x: 1, y: [1, 2], z: keep}\nb: base\n")
    _write(tmp_path, "mid/mid.yaml", "extends: ../base.yaml\na: {x: 2, y: [3]}\n")
    top = _write(tmp_path, "mid/env/top.yaml", "extends: ../mid.yaml\na: {x: 3}\nb: null\n")
    merged = load_merged(top)
    assert merged.tree == {"a": {"x": 3, "y": [3], "z": "keep"}}
    assert [Path(f).name for f in merged.files] == ["base.yaml", "mid.yaml", "top.yaml"]
    assert Path(merged.origins[("a", "x")].file).name == "top.yaml"
    assert Path(merged.origins[("a", "y")].file).name == "mid.yaml"
    assert ("a", "y", 1) not in merged.origins  # the replaced list's second item is gone
    assert Path(merged.origins[("a", "z")].file).name == "base.yaml"
    assert Path(merged.origins[("b",)].file).name == "top.yaml"  # the null that removed it


def test_environment_defaults_to_entry_file_name(tmp_path: Path) -> None:
    _write(tmp_path, "base.yaml", "project: {name: acme}\n")
    merged = load_merged(_write(tmp_path, "envs/qa.yaml", "extends: ../base.yaml\n"))
    assert merged.tree["project"] == {"name": "acme", "environment": "qa"}
    explicit = load_merged(_write(tmp_path, "envs/x.yaml", "extends: ../base.yaml\nproject: {environment: e1}\n"))
    assert explicit.tree["project"]["environment"] == "e1"


def test_missing_base_points_at_extends(tmp_path: Path) -> None:
    top = _write(tmp_path, "top.yaml", "a: 1\nextends: gone.yaml\n")
    with pytest.raises(ConfigError) as caught:
        load_merged(top)
    (problem,) = caught.value.problems
    assert (problem.location.line, problem.path) == (2, "extends")
    assert "does not exist" in problem.message


def test_self_cycle(tmp_path: Path) -> None:
    top = _write(tmp_path, "self.yaml", "extends: self.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_merged(top)


trees = st.recursive(
    st.one_of(st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=3)),
    lambda children: st.dictionaries(st.sampled_from("abcd"), children, max_size=4),
    max_leaves=12,
).filter(lambda t: isinstance(t, dict))


def _origins(tree: dict[str, Any], file: str, prefix: Path_ = ()) -> dict[Path_, Location]:
    found: dict[Path_, Location] = {}
    for key, value in tree.items():
        path = (*prefix, key)
        found[path] = Location(file, 1, 1)
        if isinstance(value, dict):
            found.update(_origins(value, file, path))
        elif isinstance(value, list):
            found.update({(*path, i): Location(file, 1, 1) for i in range(len(value))})
    return found


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    return merge(base, _origins(base, "base"), overlay, _origins(overlay, "overlay"), ())


@given(trees, trees)
def test_merge_is_idempotent(base: dict[str, Any], overlay: dict[str, Any]) -> None:
    once = _merge(base, overlay)
    assert _merge(once, overlay) == once


@given(trees)
def test_empty_overlay_and_self_overlay_change_nothing(tree: dict[str, Any]) -> None:
    assert _merge(tree, {}) == tree
    assert _merge(tree, tree) == tree
    assert _merge({}, tree) == tree


@given(trees, trees)
def test_overlay_values_win(base: dict[str, Any], overlay: dict[str, Any]) -> None:
    merged = _merge(base, overlay)
    for key, value in overlay.items():
        if not isinstance(value, dict) or not isinstance(base.get(key), dict):
            assert merged[key] == value
