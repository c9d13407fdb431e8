from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import EngineError
from engine.manifest import ordered, read_manifest, stack_levels, stack_order


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


# --- levels ------------------------------------------------------------------------------------------


def test_levels_of_the_diamond_and_its_reverse() -> None:
    diamond = {"workloads": ("data", "cluster"), "data": ("network",), "cluster": ("network",), "network": ()}
    assert stack_levels(diamond) == (("network",), ("cluster", "data"), ("workloads",))
    assert stack_levels(diamond, reverse=True) == (("workloads",), ("cluster", "data"), ("network",))
    # reverse is not the apply levels backwards: a stack nothing depends on goes first
    assert stack_levels({"a": (), "b": ("a",), "c": ()}, reverse=True) == (("b", "c"), ("a",))
    with pytest.raises(EngineError, match="cycle"):
        stack_levels({"x": ("y",), "y": ("x",), "z": ()})
    with pytest.raises(EngineError, match="unknown stack"):
        stack_levels({"x": ("nowhere",)})


@st.composite
def dags(draw: st.DrawFn) -> dict[str, tuple[str, ...]]:
    """A random DAG: names shuffled, each stack depending on some stacks drawn before it."""
    names = draw(st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=9, unique=True))
    return {name: tuple(draw(st.lists(st.sampled_from(names[:i]), unique=True)) if i else ())
            for i, name in enumerate(names)}


@given(graph=dags(), reverse=st.booleans())
def test_levels_put_each_stack_after_its_dependencies_as_early_as_possible(
    graph: dict[str, tuple[str, ...]], reverse: bool
) -> None:
    levels = stack_levels(graph, reverse=reverse)
    level = {name: number for number, names in enumerate(levels, 1) for name in names}
    assert sorted(level) == sorted(graph)  # every stack exactly once
    edges = {(name, dep) for name, deps in graph.items() for dep in deps}
    before = {(dep, name) if not reverse else (name, dep) for name, dep in edges}  # (first, then)
    assert all(level[first] < level[then] for first, then in before)
    for name in graph:  # minimal: 1 + the highest level of what must come first, 1 if nothing
        firsts = [first for first, then in before if then == name]
        assert level[name] == 1 + max((level[f] for f in firsts), default=0)
    assert all(list(names) == sorted(names) for names in levels)  # ties by name
    assert stack_levels(dict(reversed(graph.items())), reverse=reverse) == levels  # key order says nothing
    flattened = [name for names in levels for name in names]
    if not reverse:  # a topological order as well
        assert all(flattened.index(dep) < flattened.index(name) for name, dep in edges)
