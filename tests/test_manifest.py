from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import EngineError
from engine.manifest import ordered, read_manifest, stack_order


def test_stack_order_is_topological_and_stable() -> None:
    assert stack_order({"c": ("a", "b"), "b": ("a",), "a": (), "d": ()}) == ("a", "b", "c", "d")
    with pytest.raises(EngineError, match="cycle"):
        stack_order({"x": ("y",), "y": ("x",)})
    with pytest.raises(EngineError, match="unknown stack"):
        stack_order({"x": ("nowhere",)})


def _manifest(tmp_path: Path, stacks: object) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"stacks": stacks, "version": "0.24.0"}))
    return path


def test_read_manifest_in_order(tmp_path: Path) -> None:
    entry = {"workingDirectory": "stacks/{0}", "synthesizedStackPath": "stacks/{0}/cdk.tf.json"}

    def stack(name: str, *deps: str) -> dict[str, object]:
        return {k: v.format(name) for k, v in entry.items()} | {"dependencies": list(deps), "constructPath": name}

    path = _manifest(tmp_path, {"data": stack("data", "network"), "network": stack("network")})
    assert [e.name for e in ordered(read_manifest(path))] == ["network", "data"]


@pytest.mark.parametrize(
    ("stacks", "message"),
    [({}, "lists no stacks"),
     ({"x": {"workingDirectory": "../../etc", "synthesizedStackPath": "a.json", "dependencies": []}}, "outside"),
     ({"x": {"dependencies": []}}, "lacks workingDirectory")],
)
def test_bad_manifests(tmp_path: Path, stacks: object, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        read_manifest(_manifest(tmp_path, stacks))


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="no Terraform manifest"):
        read_manifest(tmp_path / "manifest.json")
