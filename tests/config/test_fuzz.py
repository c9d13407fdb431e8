"""No byte string makes the loader fail as a bug: every input is a config or a clear user error.

Arbitrary bytes, YAML-ish text and deep nesting in each YAML syntax go through `validate` as a
user would run it; the exit code is 0 or 1, never 3 (an internal error).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.cli import main

# Fragments that steer random text into YAML's corners: flow and block collections, anchors,
# aliases, tags, documents, quoting, indentation and the keys the overlay layer treats specially.
_FRAGMENTS = ["[", "]", "{", "}", ": ", "- ", ",", "\n", "  ", "\t", "&a ", "*a", "!!str ", "!x ", "---\n",
              "...\n", "'", '"', "? ", "|\n", ">\n", "#", "<<: ", "extends: ", "$schema: ", "project:", "~",
              "\x00", "\ufeff", "0x1F", "1e9", ".inf", "null", "true"]


def _run_validate(data: bytes) -> int:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.yaml"
        path.write_bytes(data)
        return main(["validate", str(path)])


@pytest.fixture(autouse=True)
def _quiet(capsys: pytest.CaptureFixture[str]) -> None:
    """Error text is not under test here; keeps the captured output small."""


@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_yield_an_internal_error(data: bytes) -> None:
    assert _run_validate(data) in (0, 1)


@given(st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=8), max_size=200))
def test_yaml_like_text_never_yields_an_internal_error(parts: list[str]) -> None:
    assert _run_validate("".join(parts).encode("utf-8", "surrogatepass")) in (0, 1)


def _nested(kind: str, depth: int) -> str:
    if kind == "flow_lists":
        return "project: " + "[" * depth + "1" + "]" * depth
    if kind == "flow_maps":
        return "project: " + "{a: " * depth + "1" + "}" * depth
    if kind == "unclosed":
        return "project: " + "[{a: " * depth
    if kind == "block_maps":
        return "".join("  " * i + "k:\n" for i in range(depth))
    if kind == "block_lists":
        return "project:\n" + "".join("  " * i + "-\n" for i in range(depth))
    return "project: &a [" + ", ".join(["*a"] * depth) + "]"  # a recursive alias


@given(st.sampled_from(["flow_lists", "flow_maps", "unclosed", "block_maps", "block_lists", "alias"]),
       st.integers(min_value=1, max_value=5000))
def test_deep_nesting_is_a_user_error(kind: str, depth: int) -> None:
    text = _nested(kind, depth)
    if len(text) > 1024 * 1024:  # past the size limit, which has its own test
        text = text[: 1024 * 1024]
    assert _run_validate(text.encode()) in (0, 1)
