from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.load import Document, dotted, load_document
from engine.errors import ConfigError, Location


def _load(tmp_path: Path, text: str) -> Document:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_document(path)


def test_positions_are_recorded_for_keys_and_items(tmp_path: Path) -> None:
    document = _load(tmp_path, "a:\n  b: 1\n  c:\n    - x\n    - y\n")
    assert document.tree == {"a": {"b": 1, "c": ["x", "y"]}}
    origin = document.origins
    assert (origin[("a",)].line, origin[("a", "b")].line, origin[("a", "b")].column) == (1, 2, 3)
    assert origin[("a", "c", 1)] == Location(document.file, 5, 7)


@pytest.mark.parametrize(
    ("text", "value"),
    [("no", "no"), ("on", "on"), ("03:00", "03:00"), ("2024-01-01", "2024-01-01"), ("0x1f", 31),
     ("1e3", 1000.0), ("true", True), ("~", None), (".inf", ".inf"), ("'12'", "12")],
)
def test_yaml_1_2_core_scalars(tmp_path: Path, text: str, value: object) -> None:
    assert _load(tmp_path, f"v: {text}\n").tree["v"] == value


def test_alias_within_bound_is_expanded(tmp_path: Path) -> None:
    document = _load(tmp_path, "a: &x [1, 2]\nb: *x\n")
    assert document.tree == {"a": [1, 2], "b": [1, 2]}


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"deeper than|more than"):
        _load(tmp_path, "a: &x [*x]\n")


def test_errors_carry_file_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, "a: 1\nb:\n  c: 1\n  c: 2\n")
    (problem,) = caught.value.problems
    assert (problem.location.line, problem.location.column, problem.path) == (4, 3, "b.c")


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert load_document(path).tree == {"a": 1}


def test_dotted() -> None:
    assert dotted(("network", "interface_endpoints", 2)) == "network.interface_endpoints[2]"
    assert dotted(()) == ""
